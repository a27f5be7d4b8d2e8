"""The API started on a registry alias follows it: swaps under load without a failed or mixed answer, refuses a broken version."""

from __future__ import annotations

import threading
import time

import pytest
from fastapi.testclient import TestClient

from captcha_solver.artifacts import load_manifest
from captcha_solver.inference import shipped_model_dir
from captcha_solver.registry import Registry, folder_label, version_tags
from captcha_solver.serving.api import create_app
from captcha_solver.settings import Config, apply_overrides

V1, V2 = "models:/captcha-solver/1", "models:/captcha-solver/2"


@pytest.fixture(scope="module")
def registry_config(tmp_path_factory, trained_model_dir):
    """Versions 1 (the shipped model, champion), 2 (the small trained model) and 3 (damaged after upload)."""
    root = tmp_path_factory.mktemp("swap")
    config = apply_overrides(
        Config(),
        {
            "registry.uri": f"sqlite:///{root}/mlflow.db",
            "registry.artifacts_dir": str(root / "artifacts"),
            "registry.cache_dir": str(root / "cache"),
            "registry.poll_seconds": 0.2,
            "paths.log_file": str(root / "log_file.log"),
            "paths.results_csv": str(root / "results.csv"),
            "logging.console": False,
        },
    )
    registry = Registry(config.registry)
    for folder in (shipped_model_dir(), trained_model_dir, trained_model_dir):
        info = registry.register(
            folder, tags=version_tags(load_manifest(folder), folder), description="test", metrics={}
        )
    stored = root / "artifacts" / info.run_id / "artifacts" / "model" / "manifest.json"
    stored.write_text("{not json", encoding="utf-8")
    return config, registry


def _post(client, path):
    return client.post("/predict", files={"file": (path.name, path.read_bytes(), "image/png")})


def _wait_for(client, version, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get("/health").json()["model_version"] == version:
            return time.monotonic()
        time.sleep(0.05)
    raise AssertionError(f"the API never served {version}")


def test_hot_swap_under_load(registry_config, captcha_dir):
    config, registry = registry_config
    registry.promote(1)
    files = sorted(captcha_dir.glob("*.png"))[:16]
    app = create_app("models:/captcha-solver@champion", config)
    answers: list[tuple[float, int, str]] = []  # (started, status, model_version)
    stop = threading.Event()
    try:
        with TestClient(app) as client:
            assert client.get("/health").json()["model_version"] == V1
            assert client.get("/model").json()["model_version"] == V1

            def worker(k):
                i = k
                while not stop.is_set():
                    started = time.monotonic()
                    answer = _post(client, files[i % len(files)])
                    answers.append((started, answer.status_code, answer.json().get("model_version", "")))
                    i += 1

            threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
            for thread in threads:
                thread.start()
            time.sleep(1.0)
            registry.promote(2)
            swapped = _wait_for(client, V2)
            time.sleep(1.0)
            registry.rollback()
            back = _wait_for(client, V1)
            time.sleep(0.5)
            stop.set()
            for thread in threads:
                thread.join(30)
            metrics = client.get("/metrics").text
    finally:
        app.state.uploads.close()
    assert answers and all(status == 200 for _, status, _ in answers)
    assert {version for _, _, version in answers} == {V1, V2}
    # Every request that started after /health named the new version was read by it.
    assert all(v == V2 for t, _, v in answers if swapped < t < back - 0.5)
    assert all(v == V1 for t, _, v in answers if t > back)
    assert sum(v == V2 for _, _, v in answers) > 0
    assert f'captcha_model_version_info{{version="{V1}"}} 1.0' in metrics
    assert f'captcha_model_version_info{{version="{V2}"}}' not in metrics  # the old series is gone


def test_a_broken_version_is_refused_while_the_old_serves(registry_config, captcha_dir):
    config, registry = registry_config
    registry.promote(1)
    image = sorted(captcha_dir.glob("*.png"))[0]
    app = create_app("models:/captcha-solver@champion", config)
    follower = app.state.uploads.follower
    follower.stop()  # checked by hand here, not by the poll
    try:
        with TestClient(app) as client:
            registry.promote(3)
            assert follower.check() is False and follower.refused == 3
            assert follower.check() is False  # not retried while the alias stays on it
            answer = _post(client, image)
            assert answer.status_code == 200 and answer.json()["model_version"] == V1
            assert client.get("/health").json()["model_version"] == V1
            assert "captcha_model_swap_failures_total 1.0" in client.get("/metrics").text
            log = (registry.local_path(config.paths.log_file)).read_text()
            assert "moved to version 3, which is refused (version 1 keeps serving)" in log
            assert "models:/captcha-solver/3 is broken" in log
            registry.promote(2)
            assert follower.check() is True
            assert _post(client, image).json()["model_version"] == V2
    finally:
        registry.promote(1)


def test_a_folder_answers_with_its_manifest_label(trained_model_dir, captcha_dir, tmp_path):
    config = apply_overrides(
        Config(),
        {
            "paths.log_file": str(tmp_path / "log"),
            "paths.results_csv": str(tmp_path / "r.csv"),
            "logging.console": False,
        },
    )
    app = create_app(trained_model_dir, config)
    assert app.state.uploads.follower is None
    with TestClient(app) as client:
        answer = _post(client, sorted(captcha_dir.glob("*.png"))[0]).json()
        assert (
            answer["model_version"]
            == folder_label(trained_model_dir)
            == client.get("/health").json()["model_version"]
        )
        assert len(answer["model_version"]) == len("folder:") + 12


def test_a_request_in_flight_finishes_on_the_model_it_started_with(registry_config, captcha_dir):
    """A read that is under way while the swap happens answers with (and is read by) the old model."""
    config, registry = registry_config
    registry.promote(1)
    image = sorted(captcha_dir.glob("*.png"))[0]
    app = create_app("models:/captcha-solver@champion", config)
    uploads = app.state.uploads
    uploads.follower.stop()
    old = uploads.solver
    reading, swapped = threading.Event(), threading.Event()
    real = old.predict_row

    def slow_predict_row(*args, **kwargs):
        reading.set()
        assert swapped.wait(20)  # the swap happens while this read is in the model
        return real(*args, **kwargs)

    old.predict_row = slow_predict_row
    try:
        result = {}
        reader = threading.Thread(target=lambda: result.update(uploads.read(image.read_bytes(), image.name)))
        reader.start()
        assert reading.wait(20)
        registry.promote(2)
        assert uploads.follower.check() is True and uploads.solver is not old
        swapped.set()
        reader.join(20)
        assert result["model_version"] == V1 and result["text"] == image.stem
        assert uploads.read(image.read_bytes(), image.name)["model_version"] == V2
    finally:
        registry.promote(1)
