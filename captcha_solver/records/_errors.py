"""The one error of the records package, the check that a record file is there, and reading one."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

__all__ = ["RecordsError", "existing_file", "read_record_file"]

_Rows = TypeVar("_Rows")


class RecordsError(ValueError):
    """A record file cannot be shown, or a filter is invalid; the message names the file or the value.

    Attributes
    ----------
    missing : bool
        The file does not exist yet (nothing was written there): a page says so instead of failing.
    """

    def __init__(self, message: str, *, missing: bool = False):
        super().__init__(message)
        self.missing = missing


def existing_file(path: str | os.PathLike, what: str) -> Path:
    """``path`` as a Path if it is an existing regular file; else a :class:`RecordsError` saying why."""
    path = Path(path)
    if not path.exists():
        raise RecordsError(f"{path} does not exist yet: nothing has been {what} there", missing=True)
    if not path.is_file():
        raise RecordsError(f"{path} is not a regular file")
    return path


def read_record_file(read: Callable[[Path], _Rows], path: str | os.PathLike) -> _Rows:
    """``read(path)``, its errors (a bad file, a failed read) as a :class:`RecordsError` naming the file."""
    try:
        return read(Path(path))
    except ValueError as exc:
        raise RecordsError(str(exc)) from exc
    except OSError as exc:
        raise RecordsError(f"{path} cannot be read: {exc.strerror or exc}") from exc
