"""The project's one logger, ``captcha_solver``, writing to a file and to stderr.

Every record is one line: the message is escaped with
:func:`common.escaping.escape_text`, so a file name holding a newline cannot
forge a log line, and one with bytes that are not UTF-8 cannot make the write
fail. Tracebacks keep their lines, each indented, so none can pass for a record.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import sys
import threading
from pathlib import Path

from captcha_solver.common.escaping import escape_text

__all__ = ["LOGGER_NAME", "DEFAULT_LOG_FILE", "get_logger", "shutdown_logger"]

LOGGER_NAME = "captcha_solver"
DEFAULT_LOG_FILE = Path("data") / "log_file.log"
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_FORMAT = "%(asctime)s %(levelname)s %(module)s: %(message)s"

# get_logger may be called from several threads (e.g. a server); handler
# surgery must not interleave or a handler could be added twice.
_lock = threading.Lock()


class _IsoFormatter(logging.Formatter):
    """One line per record, ISO 8601 local time with the UTC offset, to the millisecond.

    The message (user data: file names, upload names, errors) is escaped; a
    traceback or stack follows on lines of its own, each indented by four
    spaces and escaped, so that every line at column 0 starts a real record.
    """

    def formatTime(self, record, datefmt=None):  # noqa: N802 - logging's API name
        stamp = _dt.datetime.fromtimestamp(record.created).astimezone()
        return stamp.isoformat(timespec="milliseconds")

    def format(self, record):
        # logging.Formatter.format, without its cache of the traceback text
        # (another formatter may have filled it in, unindented).
        record.message = record.getMessage()
        record.asctime = self.formatTime(record, self.datefmt)
        text = self.formatMessage(record)
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        elif record.exc_text:
            text += "\n" + _indented(record.exc_text)
        if record.stack_info:
            text += "\n" + self.formatStack(record.stack_info)
        return text

    def formatMessage(self, record):  # noqa: N802 - logging's API name
        # A copy: the record is shared with any other handler.
        safe = logging.makeLogRecord(record.__dict__)
        safe.message = escape_text(record.message)
        return super().formatMessage(safe)

    def formatException(self, ei):  # noqa: N802 - logging's API name
        return _indented(super().formatException(ei))

    def formatStack(self, stack_info):  # noqa: N802 - logging's API name
        return _indented(super().formatStack(stack_info))


def _indented(text: str) -> str:
    return "\n".join("    " + escape_text(line) for line in text.split("\n"))


class _FileHandler(logging.FileHandler):
    """File handler that reports a failing write (disk full) once, in one line, instead of a traceback per record."""

    _reported = False

    def handleError(self, record):  # noqa: N802 - logging's API name
        if self._reported or not logging.raiseExceptions:
            return
        self._reported = True
        error = sys.exc_info()[1]
        reason = getattr(error, "strerror", None) or error
        where, why = escape_text(self.baseFilename), escape_text(str(reason))
        try:
            sys.stderr.write(
                f"captcha_solver: cannot write the log file {where}: {why}; further log records may be lost\n"
            )
        except Exception:  # noqa: BLE001 - nowhere left to report to
            pass

    def close(self):
        try:
            super().close()
        except OSError:  # the last flush failed (disk still full): said once, not again at exit
            self.handleError(None)


class _StderrHandler(logging.StreamHandler):
    """Console handler that looks ``sys.stderr`` up at every record.

    A plain StreamHandler keeps the stream it was created with; when that
    stream is later replaced (pytest's capture, a notebook) it would write to
    a closed file.
    """

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def _parse_level(level) -> int:
    if isinstance(level, int) and not isinstance(level, bool):
        return level
    if isinstance(level, str) and level.upper() in _LEVELS:
        return getattr(logging, level.upper())
    raise ValueError(f"log level {level!r} is invalid: expected one of {', '.join(_LEVELS)} or an int")


def _file_handler(logger: logging.Logger) -> logging.FileHandler | None:
    for handler in logger.handlers:
        if isinstance(handler, logging.FileHandler):
            return handler
    return None


def _console_handler(logger: logging.Logger) -> logging.Handler | None:
    for handler in logger.handlers:
        if isinstance(handler, _StderrHandler):
            return handler
    return None


def get_logger(
    log_file: str | os.PathLike | None = None,
    level: str | int | None = None,
    console: bool | None = None,
) -> logging.Logger:
    """Return the project's logger, configuring it on the first call.

    Every call returns the same ``logging.Logger`` named ``"captcha_solver"``;
    it never holds more than one file handler and one console handler.
    Modules may also log through children such as
    ``logging.getLogger("captcha_solver.segmentation")``, which propagate to it.

    Parameters
    ----------
    log_file : str or PathLike, optional
        File the log is appended to (UTF-8). Its folder is created. On the first
        call ``None`` means ``./data/log_file.log``; on later calls ``None``
        keeps the current file and a different path re-targets the file handler.
    level : str or int, optional
        ``"DEBUG"``, ``"INFO"``, ``"WARNING"``, ``"ERROR"`` (or a logging int).
        ``None`` means ``"INFO"`` on the first call and "unchanged" afterwards.
    console : bool, optional
        Whether records also go to stderr. ``None`` means ``True`` on the first
        call and "unchanged" afterwards.

    Returns
    -------
    logger : logging.Logger

    Raises
    ------
    ValueError
        If ``level`` is not a known level name.
    """
    logger = logging.getLogger(LOGGER_NAME)
    with _lock:
        first = not getattr(logger, "_captcha_solver_configured", False)
        if first:
            log_file = DEFAULT_LOG_FILE if log_file is None else log_file
            level = "INFO" if level is None else level
            console = True if console is None else console
            logger._captcha_solver_configured = True

        if level is not None:
            logger.setLevel(_parse_level(level))

        if log_file is not None:
            path = Path(log_file).absolute()
            current = _file_handler(logger)
            if current is None or Path(current.baseFilename) != path:
                path.parent.mkdir(parents=True, exist_ok=True)
                handler = _FileHandler(path, mode="a", encoding="utf-8")
                handler.setFormatter(_IsoFormatter(_FORMAT))
                if current is not None:
                    logger.removeHandler(current)
                    current.close()
                logger.addHandler(handler)

        if console is not None:
            current = _console_handler(logger)
            if console and current is None:
                handler = _StderrHandler()
                handler.setFormatter(_IsoFormatter(_FORMAT))
                logger.addHandler(handler)
            elif not console and current is not None:
                logger.removeHandler(current)
                current.close()
    return logger


def shutdown_logger() -> None:
    """Close and remove the logger's handlers; the next :func:`get_logger` call starts afresh.

    Useful at the end of a run (flushes and releases the log file) and in tests.
    """
    logger = logging.getLogger(LOGGER_NAME)
    with _lock:
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
            handler.close()
        logger._captcha_solver_configured = False
