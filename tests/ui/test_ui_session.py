"""The UI's logic without a browser: predictions, and who may save which settings."""

from __future__ import annotations

import numpy as np
import pytest

from captcha_solver.settings import resolve_config
from captcha_solver.ui.app import SolverSession


@pytest.fixture()
def config_path(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(
        f"paths:\n  results_csv: {tmp_path / 'results.csv'}\n  log_file: {tmp_path / 'log.log'}\n"
        "logging:\n  console: false\n",
        encoding="utf-8",
    )
    return path


def _session(config_path, trained_model_dir, monkeypatch, *, public=False, token=""):
    monkeypatch.setenv("CAPTCHA_ADMIN_TOKEN", token)
    monkeypatch.delenv("CAPTCHA_SOLVER_PUBLIC", raising=False)
    config, path = resolve_config(config_path)
    return SolverSession(config, path, model_dir=trained_model_dir, public=public)


def test_predict_returns_answer_picture_and_table(config_path, trained_model_dir, captcha_dir, monkeypatch):
    session = _session(config_path, trained_model_dir, monkeypatch)
    path = min(captcha_dir.glob("*.png"))
    text, confidence, picture, details = session.predict(str(path))
    assert text and 0 < float(confidence) <= 1
    assert picture.dtype == np.uint8 and picture.ndim == 3 and picture.shape[2] == 3
    assert details.count("\n| ") >= len(text)


def test_predict_reports_a_bad_file(config_path, trained_model_dir, tmp_path, monkeypatch):
    session = _session(config_path, trained_model_dir, monkeypatch)
    bad = tmp_path / "notes.png"
    bad.write_bytes(b"hello")
    text, confidence, picture, details = session.predict(str(bad))
    assert (text, confidence, picture) == ("", "", None)
    assert "notes.png" in details and "not a" in details
    assert session.predict(None)[3].startswith("Upload")


def test_valid_edit_is_saved_and_model_reloaded(config_path, trained_model_dir, monkeypatch):
    session = _session(config_path, trained_model_dir, monkeypatch)
    old_solver = session.solver
    message, text = session.save_settings(config_path.read_text() + "serving:\n  max_batch: 9\n")
    assert message.startswith("Saved") and "reloaded" in message
    assert session.config.serving.max_batch == 9
    assert session.solver is not old_solver
    assert "max_batch: 9" in config_path.read_text() and text == config_path.read_text()


@pytest.mark.parametrize(
    "edit, reason",
    [
        ("segmentation:\n  threshold_ratio: 2\n", "segmentation.threshold_ratio"),
        ("serving:\n  max_batch: lots\n", "serving.max_batch"),
        ("segmentaton:\n  threshold_ratio: 0.5\n", "did you mean 'segmentation'"),
        ("paths: [unclosed\n", "YAML syntax error"),
        ("training:\n  seed: 1\ntraining:\n  seed: 2\n", "duplicate key"),
    ],
)
def test_invalid_edit_is_refused_with_the_reason(config_path, trained_model_dir, monkeypatch, edit, reason):
    session = _session(config_path, trained_model_dir, monkeypatch)
    before = config_path.read_text()
    message, _ = session.save_settings(before + edit if not edit.startswith("paths: [") else edit)
    assert message.startswith("Refused") and reason in message
    assert config_path.read_text() == before


def test_public_without_token_is_read_only(config_path, trained_model_dir, monkeypatch):
    session = _session(config_path, trained_model_dir, monkeypatch, public=True)
    assert session.read_only
    before = config_path.read_text()
    message, _ = session.save_settings(before + "serving:\n  max_batch: 9\n")
    assert message.startswith("Refused: Read-only") and "CAPTCHA_ADMIN_TOKEN" in message
    assert config_path.read_text() == before


def test_admin_token_is_required_when_set(config_path, trained_model_dir, monkeypatch):
    session = _session(config_path, trained_model_dir, monkeypatch, public=True, token="t0ken")
    assert not session.read_only
    edit = config_path.read_text() + "serving:\n  max_batch: 9\n"
    assert session.save_settings(edit, "nope")[0] == "Refused: wrong or missing admin token."
    assert session.save_settings(edit, "t0ken")[0].startswith("Saved")


def test_settings_that_leave_no_model_are_not_saved(config_path, trained_model_dir, monkeypatch):
    from captcha_solver.artifacts import ModelFolderError

    session = _session(config_path, trained_model_dir, monkeypatch)
    before = config_path.read_text()

    def broken(config):
        raise ModelFolderError("/somewhere/model: no manifest.json")

    monkeypatch.setattr(session, "_load", broken)
    message, _ = session.save_settings(before + "serving:\n  max_batch: 9\n")
    assert message.startswith("Refused: the model does not load") and "no manifest.json" in message
    assert config_path.read_text() == before
