"""The log file as records, newest first: filtered by level and text, read from the end.

A record is a line at column 0 (``<ISO time> <LEVEL> <module>: <message>``, see
:mod:`captcha_solver.common.log`) followed by its indented lines (a traceback).
The file is read backwards in blocks, so showing the last records of a large log
reads only its end and memory stays bounded by what is returned.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from captcha_solver.records._errors import RecordsError, existing_file

__all__ = ["LOG_LEVELS", "LogRecord", "log_records", "log_text"]

#: Levels in increasing severity; a level filter keeps records at that level or above.
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_HEAD = re.compile(r"^(\S+) (DEBUG|INFO|WARNING|ERROR|CRITICAL) (\S+?): ?(.*)$")
_BLOCK = 64 * 1024


@dataclass(frozen=True)
class LogRecord:
    """One log record: its header fields and its continuation lines (a traceback), if any."""

    timestamp: str
    level: str
    module: str
    message: str
    detail: str = ""

    def to_dict(self) -> dict[str, str]:
        return {
            "timestamp": self.timestamp,
            "level": self.level,
            "module": self.module,
            "message": self.message,
            "detail": self.detail,
        }

    def text(self) -> str:
        """The record as it stands in the file."""
        head = f"{self.timestamp} {self.level} {self.module}: {self.message}"
        return f"{head}\n{self.detail}" if self.detail else head


def _lines_backwards(path: Path) -> Iterator[str]:
    """The file's lines from the last to the first (decoded as UTF-8, bad bytes replaced)."""
    with open(path, "rb") as handle:
        position = handle.seek(0, os.SEEK_END)
        tail = b""
        while position > 0:
            size = min(_BLOCK, position)
            position -= size
            handle.seek(position)
            block = handle.read(size) + tail
            lines = block.split(b"\n")
            # The first piece may be the end of a line that starts in an earlier block.
            tail = lines.pop(0)
            for line in reversed(lines):
                yield line.decode("utf-8", "replace").rstrip("\r")
        yield tail.decode("utf-8", "replace").rstrip("\r")


def _records_backwards(path: Path) -> Iterator[LogRecord]:
    detail: list[str] = []
    for line in _lines_backwards(path):
        if not line.strip():
            continue
        match = _HEAD.match(line)
        if match is None:
            # An indented traceback line, or text that is not a record (kept with the record above it).
            detail.append(line)
            continue
        timestamp, level, module, message = match.groups()
        yield LogRecord(timestamp, level, module, message, "\n".join(reversed(detail)))
        detail = []
    if detail:
        # Lines before the first record (a log written by something else): shown, not lost.
        yield LogRecord("", "", "", "\n".join(reversed(detail)))


def _check_level(level: str | None) -> int:
    if not level:
        return 0
    name = level.strip().upper()
    if name not in LOG_LEVELS:
        raise RecordsError(f"unknown log level {level!r}: expected one of {', '.join(LOG_LEVELS)}")
    return LOG_LEVELS.index(name)


def log_records(
    path: str | os.PathLike, *, level: str | None = None, contains: str = "", limit: int | None = 500
) -> list[LogRecord]:
    """The log's records, newest first, that pass the filters.

    Parameters
    ----------
    path : path
        The log file (``paths.log_file``).
    level : str, optional
        Lowest level kept (``WARNING`` keeps warnings, errors and critical records).
    contains : str
        Plain text (not a pattern) a record must contain, case-insensitive, in any field or its traceback.
    limit : int or None
        Most records returned (None: all).

    Returns
    -------
    records : list of LogRecord

    Raises
    ------
    RecordsError
        If the file is missing (``missing`` is then True), not a file, or unreadable, or the level is unknown.
    """
    lowest = _check_level(level)
    if limit is not None and limit < 0:
        raise RecordsError(f"limit must be >= 0, got {limit}")
    path = existing_file(path, "logged")
    needle = contains.casefold()
    found: list[LogRecord] = []
    try:
        for record in _records_backwards(path):
            if limit is not None and len(found) >= limit:
                break
            # A record without a level (foreign text) is kept only when no level is asked for.
            if lowest and (not record.level or LOG_LEVELS.index(record.level) < lowest):
                continue
            if needle and needle not in record.text().casefold():
                continue
            found.append(record)
    except OSError as exc:
        raise RecordsError(f"{path} cannot be read: {exc.strerror or exc}") from exc
    return found


def log_text(records: list[LogRecord]) -> str:
    """Records (newest first, as :func:`log_records` gives them) as log-file text, oldest first."""
    return "".join(record.text() + "\n" for record in reversed(records))
