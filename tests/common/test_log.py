import logging

import pytest

from captcha_solver.common import get_logger, shutdown_logger


@pytest.fixture(autouse=True)
def _fresh_logger():
    shutdown_logger()
    yield
    shutdown_logger()


def _file_handlers(logger):
    return [h for h in logger.handlers if isinstance(h, logging.FileHandler)]


def test_singleton_without_duplicate_handlers(tmp_path):
    log_file = tmp_path / "logs" / "log_file.log"
    first = get_logger(log_file=log_file, console=True)
    second = get_logger(log_file=log_file)
    third = get_logger()
    assert first is second is third
    assert first.name == "captcha_solver"
    assert len(_file_handlers(first)) == 1
    assert len(first.handlers) == 2  # one file, one console


def test_messages_land_in_file_with_iso_time_level_module(tmp_path):
    log_file = tmp_path / "logs" / "log_file.log"
    logger = get_logger(log_file=log_file, level="DEBUG", console=False)
    logger.info("hello ünïcode")
    logger.debug("details")
    for handler in logger.handlers:
        handler.flush()
    lines = log_file.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("INFO test_log: hello ünïcode")
    # ISO 8601 date-time with milliseconds and UTC offset
    assert lines[0][4] == "-" and lines[0][10] == "T" and lines[0][19] == "."


def test_retarget_file_handler(tmp_path):
    logger = get_logger(log_file=tmp_path / "a.log", console=False)
    logger.warning("to a")
    get_logger(log_file=tmp_path / "b.log")
    logger.warning("to b")
    for handler in logger.handlers:
        handler.flush()
    assert len(_file_handlers(logger)) == 1
    assert "to a" in (tmp_path / "a.log").read_text()
    assert "to b" not in (tmp_path / "a.log").read_text()
    assert "to b" in (tmp_path / "b.log").read_text()


def test_level_and_console_toggle(tmp_path, capsys):
    logger = get_logger(log_file=tmp_path / "a.log", level="WARNING", console=True)
    logger.info("hidden")
    logger.warning("shown")
    assert "shown" in capsys.readouterr().err
    get_logger(console=False)
    logger.warning("file only")
    assert "file only" not in capsys.readouterr().err
    assert len(logger.handlers) == 1


def test_default_file_is_data_log_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    logger = get_logger(console=False)
    logger.info("x")
    assert (tmp_path / "data" / "log_file.log").exists()


def test_bad_level(tmp_path):
    with pytest.raises(ValueError, match="log level 'LOUD' is invalid: expected one of DEBUG, INFO"):
        get_logger(log_file=tmp_path / "a.log", level="LOUD")
