import logging
import os
import sys

import pytest

from captcha_solver.tracking import MODES, start_run


@pytest.fixture
def wandb_env(monkeypatch, tmp_path):
    # start_run sets WANDB_MODE/WANDB_SILENT process-wide; monkeypatch restores them.
    # W&B's own config, cache and staging folders go to tmp so the test leaves nothing behind.
    for variable in ("WANDB_MODE", "WANDB_SILENT"):
        monkeypatch.delenv(variable, raising=False)
    for variable, folder in (
        ("WANDB_CONFIG_DIR", "config"),
        ("WANDB_CACHE_DIR", "cache"),
        ("WANDB_DATA_DIR", "data"),
        ("WANDB_ARTIFACT_DIR", "artifacts"),
    ):
        monkeypatch.setenv(variable, str(tmp_path / "wandb-home" / folder))
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    return tmp_path


def test_offline_run_writes_offline_run_folder(wandb_env):
    pytest.importorskip("wandb")
    model = wandb_env / "model"
    model.mkdir()
    (model / "manifest.json").write_text("{}", encoding="utf-8")
    out = wandb_env / "runs"

    with start_run("captcha-test", {"svm_c": 10.0}, dir=out) as run:
        assert run.tracked and run.mode == "offline"
        run.log({"epoch": 1, "val/accuracy": 0.5})
        run.log({"epoch": 2, "val/accuracy": 0.75})
        run.summary({"best_accuracy": 0.75})
        run.log_artifact(model, "captcha-model")

    assert run.finished
    assert run.tracked, run.reason
    folders = list((out / "wandb").glob("offline-run-*"))
    assert len(folders) == 1
    records = list(folders[0].glob("run-*.wandb"))
    assert len(records) == 1 and records[0].stat().st_size > 0
    assert run.dir is not None and folders[0] in run.dir.parents
    assert [step["val/accuracy"] for step in run.history] == [0.5, 0.75]
    assert run.summary_values == {"best_accuracy": 0.75}
    assert (run.artifacts[0][1], run.artifacts[0][2]) == ("captcha-model", "model")
    assert os.environ["WANDB_MODE"] == "offline"
    assert os.environ["WANDB_SILENT"] == "true"


def test_disabled_mode_is_a_no_op_without_importing_wandb(wandb_env, monkeypatch):
    # A None entry makes any `import wandb` fail, proving disabled mode never imports it.
    monkeypatch.setitem(sys.modules, "wandb", None)
    out = wandb_env / "runs"
    with start_run("captcha-test", {"a": 1}, mode="disabled", dir=out) as run:
        run.log({"loss": 0.25})
        run.summary({"best": 1})
    assert not run.tracked and run.mode == "disabled" and run.reason is None
    assert run.dir is None
    assert run.history == [{"loss": 0.25}]
    assert run.summary_values == {"best": 1}
    assert not out.exists()
    assert "WANDB_MODE" not in os.environ


def test_missing_wandb_gives_no_op_run_with_reason(wandb_env, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "wandb", None)
    with caplog.at_level(logging.WARNING, logger="captcha_solver.tracking"):
        run = start_run("captcha-test", {}, dir=wandb_env / "runs")
    assert not run.tracked and run.mode == "disabled" and run.requested_mode == "offline"
    assert "wandb is not installed" in run.reason
    assert "tracking disabled: wandb is not installed" in caplog.text
    run.log({"loss": 1.0})
    run.finish()
    assert run.history == [{"loss": 1.0}]


def test_invalid_mode_rejected():
    with pytest.raises(
        ValueError, match=r"tracking mode is 'cloud'; expected one of offline, online, disabled"
    ):
        start_run("captcha-test", {}, mode="cloud")
    assert MODES == ("offline", "online", "disabled")


@pytest.mark.parametrize("project", ["", "   ", None])
def test_empty_project_rejected(project):
    with pytest.raises(ValueError, match=r"project is .*; expected a non-empty string"):
        start_run(project, {}, mode="disabled")


def test_config_not_mapping_rejected():
    with pytest.raises(TypeError, match=r"config is \[1, 2\] of type list; expected a dict"):
        start_run("captcha-test", [1, 2], mode="disabled")
