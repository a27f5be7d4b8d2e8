import logging
import os
import re

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


_RECORD_START = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d (DEBUG|INFO|WARNING|ERROR|CRITICAL) "
)


def _lines(logger, log_file):
    for handler in logger.handlers:
        handler.flush()
    return log_file.read_bytes().decode("utf-8").split("\n")[:-1]


def test_names_with_newlines_cannot_forge_log_lines(tmp_path):
    log_file = tmp_path / "log_file.log"
    logger = get_logger(log_file=log_file, console=False)
    forged = "x.png\n2026-01-01T00:00:00.000+00:00 ERROR model: forged\rline"
    logger.error("%s: not an image", forged)
    logger.info("upload %s", os.fsdecode(b"g\xff\xfe\th.png"))  # bytes that are not UTF-8: not lost
    lines = _lines(logger, log_file)
    assert len(lines) == 2 and all(_RECORD_START.match(line) for line in lines)
    assert lines[0].endswith(r"x.png\n2026-01-01T00:00:00.000+00:00 ERROR model: forged\rline: not an image")
    assert lines[1].endswith(r"upload g\xff\xfe\th.png")


def test_traceback_lines_are_indented_and_escaped(tmp_path):
    log_file = tmp_path / "log_file.log"
    logger = get_logger(log_file=log_file, console=False)
    try:
        raise ValueError("bad\n2026-01-01T00:00:00.000+00:00 CRITICAL model: forged\r")
    except ValueError:
        logger.exception("unexpected error on %s", "/predict")
    lines = _lines(logger, log_file)
    assert _RECORD_START.match(lines[0]) and lines[0].endswith("unexpected error on /predict")
    assert len(lines) > 3 and all(line.startswith("    ") for line in lines[1:])
    assert "    Traceback (most recent call last):" in lines
    assert lines[-2:] == [
        "    ValueError: bad",
        r"    2026-01-01T00:00:00.000+00:00 CRITICAL model: forged\r",
    ]


def test_full_disk_for_the_log_is_one_line_not_a_traceback_per_record(capfd):
    logger = get_logger(log_file="/dev/full", console=False)
    for i in range(3):
        logger.warning("record %d", i)
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Logging error" not in err
    assert (
        err
        == "captcha_solver: cannot write the log file /dev/full: No space left on device; further log records may be lost\n"
    )
