"""Training both readers and routing each captcha to one of them."""

import numpy as np
import pytest

from artifacts import load_manifest
from model import My_CaptchaSolver_Model

pytest.importorskip("torch", reason="training the neural reader needs torch (the 'train' extra)")


@pytest.fixture(scope="module")
def hybrid_dir(captcha_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("hybrid")
    solver = My_CaptchaSolver_Model(
        model_dir=root / "model",
        overrides={
            "classifier.candidates": ["logreg"],
            "neural.epochs": 2,
            "paths.log_file": str(root / "log.log"),
            "tracking.wandb_mode": "disabled",
            "logging.console": False,
        },
        results_csv=root / "results.csv",
    )
    solver.train(captcha_dir, reader="auto", progress=False)
    return root / "model"


def _solver(model_dir, tmp_path, reader, **extra):
    overrides = {"routing.reader": reader, "logging.console": False, "paths.log_file": str(tmp_path / "l.log"), **extra}
    return My_CaptchaSolver_Model(model_dir=model_dir, overrides=overrides, results_csv=tmp_path / "r.csv").load()


def test_auto_model_holds_both_readers(hybrid_dir):
    manifest = load_manifest(hybrid_dir)
    assert manifest["reader"] == "auto"
    assert {"glyph_classifier.onnx", "neural_reader.onnx", "neural_reader.json"} == set(manifest["artifacts"])
    assert "metrics" in manifest["neural"]


def test_routing_names_the_reader_that_answered(hybrid_dir, captcha_dir, tmp_path):
    image = sorted(captcha_dir.glob("*.png"))[0]
    assert _solver(hybrid_dir, tmp_path, "classical").predict(image)["reader"] == "classical"
    neural = _solver(hybrid_dir, tmp_path, "neural", **{"routing.topk": 3}).predict(image)
    assert neural["reader"] == "neural" and len(neural["topk"]) <= 3
    # auto: a confident, plausible classical reading is kept; with an
    # impossible confidence bar the neural reader is always consulted.
    strict = _solver(hybrid_dir, tmp_path, "auto", **{"routing.min_confidence": 1.0})
    rows = [strict.predict(p) for p in sorted(captcha_dir.glob("*.png"))[:5]]
    assert all(r["reader"] in ("classical", "neural") for r in rows)
    lenient = _solver(hybrid_dir, tmp_path, "auto", **{"routing.min_confidence": 0.0})
    assert lenient.predict(image)["reader"] == "classical"


def test_neural_only_model(captcha_dir, tmp_path):
    solver = My_CaptchaSolver_Model(
        model_dir=tmp_path / "model",
        overrides={"neural.epochs": 1, "paths.log_file": str(tmp_path / "l.log"), "logging.console": False,
                   "tracking.wandb_mode": "disabled"},
        results_csv=tmp_path / "r.csv",
    )
    solver.train(captcha_dir, reader="neural", progress=False)
    assert set(load_manifest(tmp_path / "model")["artifacts"]) == {"neural_reader.onnx", "neural_reader.json"}
    row = solver.predict(np.zeros((300, 720, 3), np.uint8) + 20)
    assert row["reader"] in ("neural", "")  # a blank picture may read as nothing, but never crashes
