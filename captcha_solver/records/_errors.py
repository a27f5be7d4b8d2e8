"""The one error of the records package, and the check that a record file is there to read."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["RecordsError", "existing_file"]


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
