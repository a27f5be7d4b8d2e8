"""A key variable that is named but not set must not turn API authentication off unnoticed."""

from __future__ import annotations

import dataclasses
import logging
import os
import subprocess
import sys

import pytest
from api_server import REPO

from captcha_solver.serving._api_key import DEFAULT_API_KEY_ENV, api_key_from_env
from captcha_solver.settings import Config, ConfigError, apply_overrides

OTHER = "CAPTCHA_TEST_KEY_NOT_SET"


class _Records(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _serving(name: str):
    return dataclasses.replace(Config().serving, api_key_env=name)


def _logger():
    logger = logging.getLogger("test_api_key")
    logger.propagate = False
    records = _Records()
    logger.handlers[:] = [records]
    return logger, records


def test_a_set_key_is_returned_quietly():
    logger, records = _logger()
    assert api_key_from_env(_serving(OTHER), {OTHER: "k3y"}, logger) == "k3y"
    assert api_key_from_env(_serving(DEFAULT_API_KEY_ENV), {DEFAULT_API_KEY_ENV: "k3y"}, logger) == "k3y"
    assert records.messages == []


@pytest.mark.parametrize("environ, state", [({}, "not set"), ({OTHER: ""}, "empty")])
def test_a_named_variable_that_is_unset_or_empty_is_an_error(environ, state):
    expected = f"serving.api_key_env names the environment variable {OTHER}, which is {state}"
    with pytest.raises(ConfigError, match=expected) as info:
        api_key_from_env(_serving(OTHER), environ)
    assert info.value.key == "serving.api_key_env" and "without authentication" in str(info.value)


@pytest.mark.parametrize("environ, state", [({}, "not set"), ({DEFAULT_API_KEY_ENV: ""}, "empty")])
def test_the_default_variable_unset_runs_open_and_says_so(environ, state):
    logger, records = _logger()
    assert api_key_from_env(_serving(DEFAULT_API_KEY_ENV), environ, logger) == ""
    (message,) = records.messages
    assert "API authentication is OFF" in message and f"{DEFAULT_API_KEY_ENV} is {state}" in message


def _config(tmp_path, **serving) -> Config:
    return apply_overrides(
        Config(),
        {
            "paths.results_csv": str(tmp_path / "results.csv"),
            "paths.log_file": str(tmp_path / "log_file.log"),
            "logging.console": False,
            **{f"serving.{k}": v for k, v in serving.items()},
        },
    )


def test_create_app_refuses_a_named_unset_key_variable(tmp_path, trained_model_dir, monkeypatch):
    from captcha_solver.serving.api import create_app

    monkeypatch.delenv(OTHER, raising=False)
    with pytest.raises(ConfigError, match=OTHER):
        create_app(model_dir=trained_model_dir, config=_config(tmp_path, api_key_env=OTHER))


def test_create_app_without_a_key_logs_that_auth_is_off(tmp_path, trained_model_dir, monkeypatch):
    from captcha_solver.serving.api import create_app

    monkeypatch.delenv(DEFAULT_API_KEY_ENV, raising=False)
    create_app(model_dir=trained_model_dir, config=_config(tmp_path))
    assert (
        f"API authentication is OFF: {DEFAULT_API_KEY_ENV} is not set"
        in (tmp_path / "log_file.log").read_text()
    )


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_refuses_to_start_with_a_named_unset_key_variable(tmp_path, trained_model_dir, workers):
    env = {k: v for k, v in os.environ.items() if k != OTHER}
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "model.py"),
            "--set",
            f"serving.api_key_env={OTHER}",
            "--set",
            f"paths.log_file={tmp_path / 'log.log'}",
            "--set",
            f"paths.results_csv={tmp_path / 'r.csv'}",
            "serve",
            "--port",
            "0",
            "--workers",
            workers,
            "--model-dir",
            str(trained_model_dir),
        ],
        check=False,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    assert "Error:" in result.stderr and OTHER in result.stderr and "not set" in result.stderr
    assert "Traceback" not in result.stderr
