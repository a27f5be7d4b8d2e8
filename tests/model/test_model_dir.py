"""The model folder training publishes into: refused unless it holds a model, backed up, recovered."""

import json
import os
import shutil
import tempfile

import pytest
from click.testing import CliRunner

import captcha_solver.training.classical as training
from captcha_solver.artifacts import MANIFEST, load_manifest, save_model
from captcha_solver.common import ScratchDir
from model import My_CaptchaSolver_Model, cli

QUIET = {
    "logging.console": False,
    "tracking.wandb_mode": "disabled",
    "classifier.candidates": '["logreg"]',
    "training.reader": "classical",
}


def _files(model_dir, names):
    return {name: model_dir / name for name in names}


def _republish(trained_model_dir, target, extra=None):
    """Publish the session's trained model (plus ``extra`` artifacts) into ``target``."""
    manifest = load_manifest(trained_model_dir)
    manifest = {k: v for k, v in manifest.items() if k not in ("artifacts", "format_version")}
    files = dict(_files(trained_model_dir, ["glyph_classifier.onnx"]), **(extra or {}))
    return save_model(target, files, manifest)


@pytest.mark.parametrize("how", ["--model-dir", "paths.model_dir"])
def test_cli_train_refuses_a_folder_of_user_files_before_any_work(captcha_dir, tmp_path, monkeypatch, how):
    work = tmp_path / "work"
    (work / "x" / "sub").mkdir(parents=True)
    (work / "x" / "notes.txt").write_text("notes")
    (work / "x" / "sub" / "thesis.tex").write_text("t")
    log = tmp_path / "log_file.log"

    def no_training(*args, **kwargs):
        raise AssertionError("training started although the model folder was refused")

    monkeypatch.setattr(training, "train_reader", no_training)
    target = work / "x"
    sets = [a for k, v in dict(QUIET, **{"paths.log_file": str(log)}).items() for a in ("--set", f"{k}={v}")]
    if how == "paths.model_dir":  # what the UI saves into config.yaml
        args = sets + ["--set", f"paths.model_dir={target}", "train"]
    else:
        args = sets + ["train", "--model-dir", str(target)]
    args += ["--dataset", str(captcha_dir), "--reader", "classical"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 1
    assert f"{target} is not empty and holds no model" in result.output and "notes.txt, sub/" in result.output
    # Nothing created (no x.prev, no staging folder), nothing deleted.
    assert sorted(str(p.relative_to(work)) for p in work.rglob("*")) == [
        "x",
        "x/notes.txt",
        "x/sub",
        "x/sub/thesis.tex",
    ]
    assert (target / "notes.txt").read_text() == "notes"
    assert "training on" not in log.read_text()


def test_retraining_one_reader_keeps_the_two_reader_model_as_backup_and_says_so(
    trained_model_dir, captcha_dir, tmp_path, monkeypatch
):
    target = tmp_path / "models" / "model"
    neural = tmp_path / "neural_reader.onnx"
    neural.write_bytes(b"stands for a neural reader: never loaded here")
    _republish(trained_model_dir, target, extra={"neural_reader.onnx": neural, "neural_reader.json": neural})
    # What killed runs left: a staging folder next to the model, an export folder in the temp dir.
    (target.parent / ".model.new-dead1234").mkdir()
    (target.parent / ".model.new-dead1234" / "glyph_classifier.onnx").write_bytes(b"half")
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    (temp / "captcha-train-dead5678").mkdir()
    live = ScratchDir("captcha-train-")  # another training, still running

    folder = tmp_path / "train"
    folder.mkdir()
    for p in sorted(captcha_dir.glob("*.png"))[:20]:
        shutil.copy(p, folder / p.name)
    log = tmp_path / "log_file.log"
    solver = My_CaptchaSolver_Model(
        model_dir=target,
        overrides=dict(QUIET, **{"paths.log_file": str(log), "training.min_images": 10}),
        results_csv=tmp_path / "results.csv",
    )
    solver.train(folder, reader="classical", progress=False)

    assert set(load_manifest(target)["artifacts"]) == {"glyph_classifier.onnx"}
    assert "neural_reader.onnx" in load_manifest(target.parent / "model.prev")["artifacts"]
    assert solver.readers == ["classical"]
    text = log.read_text()
    assert (
        "it holds the classical reader; the model it replaced held the classical and neural readers" in text
    )
    assert "has no neural reader, which the replaced one had" in text
    assert sorted(p.name for p in target.parent.iterdir()) == ["model", "model.prev"]
    assert sorted(p.name for p in temp.iterdir()) == [live.path.name]
    live.cleanup()


def test_a_crash_between_the_two_renames_still_loads_the_previous_model(
    trained_model_dir, captcha_dir, tmp_path
):
    target = _republish(trained_model_dir, tmp_path / "model")
    _republish(trained_model_dir, target)
    # The state a kill between "model -> model.prev" and ".model.new-* -> model" leaves
    # where the atomic exchange is not available (tests/artifacts/test_publish.py makes it for real).
    shutil.rmtree(tmp_path / "model.prev", ignore_errors=True)
    os.rename(target, tmp_path / "model.prev")
    assert not target.exists()
    image = sorted(captcha_dir.glob("*.png"))[0]

    overrides = {"logging.console": False, "paths.log_file": str(tmp_path / "log_file.log")}
    solver = My_CaptchaSolver_Model(
        model_dir=target, overrides=overrides, results_csv=tmp_path / "r.csv"
    ).load()
    backup = My_CaptchaSolver_Model(
        model_dir=tmp_path / "model.prev", overrides=overrides, results_csv=tmp_path / "b.csv"
    )
    keys = ("prediction", "confidence", "char_confidences", "reader", "status")
    reading = solver.predict_row(image, log_result=False)
    expected = backup.load().predict_row(image, log_result=False)
    assert reading["status"] == "ok" and [reading[k] for k in keys] == [expected[k] for k in keys]
    assert "loading the previous model from" in (tmp_path / "log_file.log").read_text()

    # Through paths.model_dir (no --model-dir): the local backup, not the model shipped in the package.
    configured = My_CaptchaSolver_Model(
        overrides=dict(overrides, **{"paths.model_dir": str(target)}), results_csv=tmp_path / "r.csv"
    ).load()
    assert configured.model_.manifest == json.loads((tmp_path / "model.prev" / MANIFEST).read_text())
