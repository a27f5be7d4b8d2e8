"""A broken model folder is reported as corrupt, naming what broke; only a missing one is "not trained yet"."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from captcha_solver.artifacts import MANIFEST, CorruptModelError, save_model, sha256_file
from captcha_solver.solver import My_CaptchaSolver_Model

ROOT = Path(__file__).resolve().parents[2]
QUIET = {"logging.console": False, "tracking.wandb_mode": "disabled", "training.reader": "classical"}
IMAGE = np.zeros((60, 160, 3), np.uint8)


def _solver(model_dir, tmp_path):
    overrides = dict(QUIET, **{"paths.log_file": str(tmp_path / "log_file.log")})
    return My_CaptchaSolver_Model(
        model_dir=model_dir, overrides=overrides, results_csv=tmp_path / "results.csv"
    )


def _copy(trained_model_dir, tmp_path) -> Path:
    copy = tmp_path / "model"
    shutil.copytree(trained_model_dir, copy)
    return copy


def _edit_manifest(model_dir: Path, edit) -> None:
    path = model_dir / MANIFEST
    path.write_text(json.dumps(edit(json.loads(path.read_text()))))


def test_corrupt_onnx_with_an_edited_digest_is_corrupt_not_untrained(trained_model_dir, tmp_path):
    model_dir = _copy(trained_model_dir, tmp_path)
    onnx = model_dir / "glyph_classifier.onnx"
    onnx.write_bytes(onnx.read_bytes()[:300])  # truncated, and the manifest edited to match it
    _edit_manifest(model_dir, lambda m: {**m, "artifacts": {**m["artifacts"], onnx.name: sha256_file(onnx)}})
    solver = _solver(model_dir, tmp_path)
    pattern = rf"model in {model_dir} is corrupt: {onnx} is not a usable ONNX model"
    with pytest.raises(CorruptModelError, match=pattern):
        solver.load()
    with pytest.raises(CorruptModelError, match=pattern):  # predict says the same, not "not trained yet"
        solver.predict_row(IMAGE)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: [m], "manifest.json holds an array, expected an object"),
        (lambda m: {k: v for k, v in m.items() if k != "charset"}, "manifest.json lacks the key 'charset'"),
        (
            lambda m: {**m, "segmentation": {**m["segmentation"], "bogus": 1}},
            "unexpected keyword argument 'bogus'",
        ),
    ],
)
def test_broken_manifest_is_corrupt_not_untrained(trained_model_dir, tmp_path, edit, message):
    model_dir = _copy(trained_model_dir, tmp_path)
    _edit_manifest(model_dir, edit)
    with pytest.raises(CorruptModelError, match=f"model in {model_dir} is corrupt: .*{message}"):
        _solver(model_dir, tmp_path).predict_row(IMAGE)


def test_no_manifest_is_not_trained_yet(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "glyph_classifier.onnx").write_bytes(
        b"left over"
    )  # files, but no manifest: no model
    with pytest.raises(
        RuntimeError, match="not trained yet: no trained model in .*Call 'train' or load a model"
    ):
        _solver(tmp_path / "model", tmp_path).predict_row(IMAGE)


def test_corrupt_neural_onnx_is_named(tmp_path):
    from captcha_solver.neural import META_FORMAT, NeuralArch

    blob = b"\x08\x07not a graph"
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "neural_reader.onnx").write_bytes(blob)
    meta = {
        "format": META_FORMAT,
        "config": NeuralArch(charset="ab").to_dict(),
        "onnx_sha256": hashlib.sha256(blob).hexdigest(),
    }
    (tmp_path / "src" / "neural_reader.json").write_text(json.dumps(meta))
    files = {name: tmp_path / "src" / name for name in ("neural_reader.onnx", "neural_reader.json")}
    model_dir = save_model(tmp_path / "model", files, {"reader": "neural"})
    with pytest.raises(
        CorruptModelError,
        match=rf"model in {model_dir} is corrupt: .*neural_reader.onnx is not a usable ONNX model",
    ):
        _solver(model_dir, tmp_path).predict_row(IMAGE)


def _run_cli(args, tmp_path):
    log = ["--set", f"paths.log_file={tmp_path / 'log_file.log'}", "--set", "logging.console=false"]
    return subprocess.run(
        [sys.executable, "model.py", *log, *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_cli_reports_a_corrupt_model_and_bad_settings_without_a_traceback(
    trained_model_dir, captcha_dir, tmp_path
):
    image = str(sorted(captcha_dir.glob("*.png"))[0])
    model_dir = _copy(trained_model_dir, tmp_path)
    _edit_manifest(model_dir, lambda m: [m])
    dup = tmp_path / "dup.yaml"
    dup.write_text("training:\n  seed: 1\n  seed: 2\n")
    cases = [
        (
            ["predict", "--image", image, "--model-dir", str(model_dir)],
            f"model in {model_dir} is corrupt: manifest.json holds an array",
        ),
        (
            ["--set", "input.extensions=[.png", "predict", "--image", image],
            "input.extensions = '[.png' is invalid",
        ),
        (
            ["--config", str(dup), "predict", "--image", image],
            f"{dup}: duplicate key 'training.seed' at line 3 (first at line 2)",
        ),
        (
            ["--set", "segmentation.threshold_ratio=.nan", "predict", "--image", image],
            "threshold_ratio = nan is invalid",
        ),
    ]
    for args, message in cases:
        result = _run_cli(args, tmp_path)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert message in result.stderr and "Traceback" not in result.stderr, (args, result.stderr)
