import logging
import os
import sys
import types

import pytest

from captcha_solver.tracking import Run, start_run


class _FakeBackend:
    def __init__(self, fail_on=()):
        self.fail_on = set(fail_on)
        self.logged = []
        self.summary = {}
        self.artifacts = []
        self.exit_code = None
        self.dir = "fake-dir/files"

    def log(self, metrics):
        if "log" in self.fail_on:
            raise ConnectionError("disk full")
        self.logged.append(metrics)

    def log_artifact(self, artifact):
        self.artifacts.append(artifact)

    def finish(self, exit_code=0):
        self.exit_code = exit_code


class _FakeArtifact:
    def __init__(self, name, type):  # noqa: A002
        self.name, self.type, self.files, self.dirs = name, type, [], []

    def add_file(self, path):
        self.files.append(path)

    def add_dir(self, path):
        self.dirs.append(path)


def _fake_wandb(monkeypatch, backend=None, init_error=None):
    def init(**kwargs):
        if init_error is not None:
            raise init_error
        backend.init_kwargs = kwargs
        return backend

    module = types.SimpleNamespace(init=init, Settings=lambda **kwargs: kwargs, Artifact=_FakeArtifact)
    monkeypatch.setitem(sys.modules, "wandb", module)
    for variable in ("WANDB_MODE", "WANDB_SILENT"):
        monkeypatch.delenv(variable, raising=False)
    return module


def test_calls_reach_wandb_and_memory(monkeypatch, tmp_path):
    backend = _FakeBackend()
    _fake_wandb(monkeypatch, backend)
    file = tmp_path / "model.onnx"
    file.write_bytes(b"onnx")
    run = start_run("p", {"c": 1}, dir=tmp_path / "runs", name="first")
    run.log({"acc": 0.5})
    run.summary({"best": 0.5})
    run.log_artifact(file, "model-v1")
    run.log_artifact(tmp_path, "data.set", type="dataset")
    run.finish()
    run.finish()  # idempotent
    assert backend.init_kwargs["mode"] == "offline"
    assert backend.init_kwargs["dir"] == str(tmp_path / "runs")
    assert backend.init_kwargs["name"] == "first"
    assert backend.init_kwargs["config"] == {"c": 1}
    assert backend.init_kwargs["settings"]["console"] == "off"
    assert (tmp_path / "runs").is_dir()
    assert backend.logged == [{"acc": 0.5}]
    assert backend.summary == {"best": 0.5}
    assert [(a.name, a.type, a.files, a.dirs) for a in backend.artifacts] == [
        ("model-v1", "model", [str(file)], []),
        ("data.set", "dataset", [], [str(tmp_path)]),
    ]
    assert backend.exit_code == 0
    assert run.history == [{"acc": 0.5}]


def test_context_manager_finishes_with_exit_code_1_on_error(monkeypatch, tmp_path):
    backend = _FakeBackend()
    _fake_wandb(monkeypatch, backend)
    with pytest.raises(KeyError, match="boom"):
        with start_run("p", {}, dir=tmp_path) as run:
            raise KeyError("boom")
    assert run.finished and backend.exit_code == 1


def test_init_failure_gives_no_op_run(monkeypatch, tmp_path, caplog):
    _fake_wandb(monkeypatch, init_error=RuntimeError("no space left"))
    with caplog.at_level(logging.WARNING, logger="captcha_solver.tracking"):
        run = start_run("p", {}, mode="online", dir=tmp_path)
    assert not run.tracked
    assert run.reason == "wandb.init failed: RuntimeError: no space left"
    assert "wandb.init failed: RuntimeError: no space left" in caplog.text
    run.log({"acc": 1.0})
    assert run.history == [{"acc": 1.0}]


def test_backend_failure_does_not_stop_training(monkeypatch, tmp_path, caplog):
    backend = _FakeBackend(fail_on={"log"})
    _fake_wandb(monkeypatch, backend)
    run = start_run("p", {}, dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger="captcha_solver.tracking"):
        run.log({"acc": 0.1})
    run.log({"acc": 0.2})
    run.finish()
    assert not run.tracked and run.mode == "disabled"
    assert run.reason == "W&B log failed: ConnectionError: disk full"
    assert "tracking continues in memory only" in caplog.text
    assert run.history == [{"acc": 0.1}, {"acc": 0.2}]
    assert backend.exit_code is None  # the broken backend is not called again


def test_sets_offline_environment(monkeypatch, tmp_path):
    _fake_wandb(monkeypatch, _FakeBackend())
    start_run("p", {}, dir=tmp_path).finish()
    assert os.environ["WANDB_MODE"] == "offline"
    assert os.environ["WANDB_SILENT"] == "true"


def _disabled():
    return Run("p", {}, "disabled")


def test_log_after_finish_rejected():
    run = _disabled()
    run.finish()
    with pytest.raises(RuntimeError, match=r"run of project 'p' is finished; start a new run"):
        run.log({"acc": 1.0})
    with pytest.raises(RuntimeError, match=r"is finished"):
        run.summary({"acc": 1.0})
    with pytest.raises(RuntimeError, match=r"is finished"):
        run.log_artifact(".", "x")


def test_metrics_not_mapping_rejected():
    with pytest.raises(TypeError, match=r"metrics is 0.5 of type float; expected a dict with str keys"):
        _disabled().log(0.5)


def test_metrics_non_string_keys_rejected():
    with pytest.raises(TypeError, match=r"metrics have non-string keys \[1\]; expected a dict with str keys"):
        _disabled().log({1: 0.5})


def test_summary_not_mapping_rejected():
    with pytest.raises(TypeError, match=r"summary values is 'best' of type str; expected a dict"):
        _disabled().summary("best")


def test_artifact_missing_path_rejected(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=r"artifact path not found: .*nope; expected an existing file"
    ):
        _disabled().log_artifact(tmp_path / "nope", "model")


@pytest.mark.parametrize(("name", "type_"), [("my model", "model"), ("", "model"), ("model", "a/b")])
def test_artifact_bad_name_rejected(tmp_path, name, type_):
    with pytest.raises(
        ValueError, match=r"artifact (name|type) is .*; expected a non-empty string of letters"
    ):
        _disabled().log_artifact(tmp_path, name, type=type_)


def test_repr_names_project_and_mode():
    assert repr(_disabled()) == "Run(project='p', mode='disabled', steps=0)"
