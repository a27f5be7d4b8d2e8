"""Trainer and runtime cannot disagree: a model that reads worse from its folder is not published."""

import pytest

import captcha_solver.training._readback as readback
from captcha_solver.artifacts import load_manifest
from captcha_solver.solver import My_CaptchaSolver_Model
from captcha_solver.training import TrainingMismatchError, runtime_check

QUIET = {
    "logging.console": False,
    "tracking.wandb_mode": "disabled",
    "classifier.candidates": ["logreg"],
    "training.reader": "classical",
}


def _solver(model_dir, tmp_path):
    overrides = dict(QUIET, **{"paths.log_file": str(tmp_path / "log_file.log")})
    return My_CaptchaSolver_Model(model_dir=model_dir, overrides=overrides, results_csv=tmp_path / "r.csv")


def test_runtime_check_reads_like_evaluate(trained_model_dir, captcha_dir, tmp_path):
    paths = sorted(str(p) for p in captcha_dir.glob("*.png"))[:20]
    found = runtime_check(trained_model_dir, paths, _solver(trained_model_dir, tmp_path).config)
    solver = _solver(trained_model_dir, tmp_path).load()
    rows = [solver.predict_row(p, log_result=False) for p in paths]
    exact = sum(r["prediction"] == p.rsplit("/", 1)[1][:-4] for r, p in zip(rows, paths)) / len(paths)
    assert found["n"] == 20 and found["val_exact"] == pytest.approx(exact)


def test_the_manifest_holds_the_figure_read_back(trained_model_dir):
    manifest = load_manifest(trained_model_dir)
    verified = manifest["verified"]
    assert verified["n"] == manifest["metrics"]["val_captchas"]
    assert verified["in_training"] == manifest["metrics"]["val_exact"]
    assert abs(verified["val_exact"] - verified["in_training"]) <= 1 / verified["n"]


def test_a_model_that_reads_worse_at_runtime_is_not_published(
    trained_model_dir, captcha_dir, tmp_path, monkeypatch
):
    import shutil

    model = tmp_path / "model"
    shutil.copytree(trained_model_dir, model)
    before = (model / "manifest.json").read_bytes()
    folder = tmp_path / "train"
    folder.mkdir()
    for p in sorted(captcha_dir.glob("*.png"))[:40]:
        shutil.copy(p, folder / p.name)
    # The runtime "reads" nothing right: what a preprocessing setting lost in export would do.
    monkeypatch.setattr(readback, "runtime_check", lambda *a, **k: {"val_exact": 0.0, "val_ece": 0.0, "n": 4})
    with pytest.raises(TrainingMismatchError, match="not published"):
        _solver(model, tmp_path).train(folder, progress=False)
    assert (model / "manifest.json").read_bytes() == before  # the live model is untouched
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".model.new")]  # no staging left
