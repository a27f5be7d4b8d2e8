"""The API in-process: the installed version, /health for any model, error rows that name no reader."""

from __future__ import annotations

import csv
import shutil

import pytest

pytest.importorskip("fastapi", reason="the API needs the 'serve' extra")
from fastapi.testclient import TestClient  # noqa: E402

import captcha_solver  # noqa: E402
from captcha_solver.artifacts import NEURAL_META, NEURAL_MODEL, save_model  # noqa: E402
from captcha_solver.inference import shipped_model_dir  # noqa: E402
from captcha_solver.serving.api import create_app  # noqa: E402
from captcha_solver.settings import Config, apply_overrides  # noqa: E402


def _config(tmp_path):
    return apply_overrides(
        Config(),
        {
            "paths.results_csv": str(tmp_path / "results.csv"),
            "paths.log_file": str(tmp_path / "log.log"),
            "logging.console": False,
        },
    )


@pytest.fixture(scope="module")
def neural_only_dir(tmp_path_factory):
    """A model folder holding only the shipped neural reader."""
    staging = tmp_path_factory.mktemp("neural-files")
    files = {}
    for name in (NEURAL_MODEL, NEURAL_META):
        files[name] = staging / name
        shutil.copyfile(shipped_model_dir() / name, files[name])
    target = tmp_path_factory.mktemp("neural-only") / "model"
    save_model(target, files, {"reader": "neural", "metrics": {}})
    return target


def test_health_of_a_neural_only_model(neural_only_dir, tmp_path):
    client = TestClient(create_app(model_dir=neural_only_dir, config=_config(tmp_path)))
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["model_loaded"] is True
    assert health["charset_size"] == len(client.app.state.uploads.solver.model_.neural.charset) > 10


def test_version_is_the_installed_one(monkeypatch, trained_model_dir, tmp_path):
    monkeypatch.setattr(captcha_solver, "__version__", "9.8.7")
    client = TestClient(create_app(model_dir=trained_model_dir, config=_config(tmp_path)))
    assert client.get("/openapi.json").json()["info"]["version"] == "9.8.7"


def test_error_rows_name_no_reader(trained_model_dir, tmp_path):
    client = TestClient(create_app(model_dir=trained_model_dir, config=_config(tmp_path)))
    bad = client.post("/predict", files={"file": ("junk.png", b"not an image", "image/png")})
    assert bad.status_code in (400, 415, 422)
    batch = client.post(
        "/predict/batch", files=[("files", ("junk.png", b"not an image", "image/png"))]
    ).json()
    (item,) = batch["results"]
    assert item["status"] == "error" and item["reader"] == ""
    with open(tmp_path / "results.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and all(r["status"] == "error" and r["reader"] == "" for r in rows)
