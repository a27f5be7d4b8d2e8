"""The feedback records: an append-only ``feedback.csv``, one row per answer the site judged.

Rows are written as the results CSV writes its rows (:mod:`captcha_solver.common.results`):
one ``os.write`` on a file opened with ``O_APPEND`` under an exclusive ``flock``, the
header exactly once, every cell escaped (:func:`captcha_solver.common.escape_text`) and
text cells neutralised against spreadsheet formulas. ``ResultsLog`` itself is not reused:
its columns are the results' own, fixed in its encoder and header check.
"""

from __future__ import annotations

import csv
import datetime as _dt
import fcntl
import io
import os
from collections.abc import Mapping
from pathlib import Path

from captcha_solver.common import escape_text, neutralise_formula, restore_formula, unescape_text

__all__ = ["FEEDBACK_COLUMNS", "FEEDBACK_CSV", "FeedbackLog", "read_feedback"]

FEEDBACK_COLUMNS = ("timestamp", "request_id", "model_version", "prediction", "accepted", "text", "saved_as")
#: The file's name inside the feedback folder (``feedback.dir``).
FEEDBACK_CSV = "feedback.csv"
_TEXT_COLUMNS = frozenset({"request_id", "model_version", "prediction", "text", "saved_as"})


def _cell(value, column: str) -> str:
    if isinstance(value, bool):
        value = "true" if value else "false"
    text = escape_text("" if value is None else str(value))
    return neutralise_formula(text) if column in _TEXT_COLUMNS else text


class FeedbackLog:
    """Append rows to ``feedback.csv``, safe for concurrent threads and processes.

    Parameters
    ----------
    path : path
        The CSV file; its folder is created on the first append.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def append(self, row: Mapping) -> None:
        """Append one row (keys: some of :data:`FEEDBACK_COLUMNS`; ``timestamp`` defaults to now).

        Raises
        ------
        ValueError
            If a key is not a column, or the existing file has another header.
        OSError
            If the file cannot be written; nothing of the row is left in it.
        """
        unknown = sorted(set(row) - set(FEEDBACK_COLUMNS))
        if unknown:
            raise ValueError(
                f"{self.path}: unknown feedback column(s) {unknown}; expected {FEEDBACK_COLUMNS}"
            )
        values = dict(row)
        values.setdefault("timestamp", _dt.datetime.now().astimezone().isoformat(timespec="milliseconds"))
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow([_cell(values.get(c), c) for c in FEEDBACK_COLUMNS])
        payload = buffer.getvalue().encode("utf-8")
        header = (",".join(FEEDBACK_COLUMNS) + "\n").encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            size = os.fstat(fd).st_size
            if size == 0:  # under the lock: only the first writer sees it empty
                payload = header + payload
            elif os.pread(fd, len(header), 0) != header:
                raise ValueError(
                    f"{self.path}: existing file does not start with the feedback header "
                    f"'{header.decode().strip()}'. Move it away or choose another feedback.dir."
                )
            written = os.write(fd, payload)
            if written != len(payload):  # disk full: never leave half a row behind
                os.ftruncate(fd, size)
                raise OSError(
                    f"{self.path}: short write ({written} of {len(payload)} bytes); the row was not saved"
                )
        finally:
            os.close(fd)


def read_feedback(path: str | os.PathLike) -> list[dict]:
    """The rows of a ``feedback.csv``, with the original text of every cell.

    Returns
    -------
    rows : list of dict
        Keyed by :data:`FEEDBACK_COLUMNS`; ``accepted`` is a bool, every other value a string.
        A missing file gives an empty list (no feedback yet).

    Raises
    ------
    ValueError
        If the file does not start with the feedback header, a row has another number of cells,
        or a cell is not what it should be; the message names the file and the line.
    """
    path = Path(path)
    if not path.exists():
        return []
    rows = []
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        if tuple(header) != FEEDBACK_COLUMNS:
            raise ValueError(
                f"{path}: expected the feedback header '{','.join(FEEDBACK_COLUMNS)}', found '{','.join(header)[:200]}'"
            )
        for cells in reader:
            where = f"{path}, line {reader.line_num}"
            if len(cells) != len(FEEDBACK_COLUMNS):
                raise ValueError(f"{where}: expected {len(FEEDBACK_COLUMNS)} cells, found {len(cells)}")
            try:
                row = {
                    c: unescape_text(restore_formula(cell) if c in _TEXT_COLUMNS else cell)
                    for c, cell in zip(FEEDBACK_COLUMNS, cells)
                }
            except ValueError as exc:
                raise ValueError(f"{where}: {exc}") from None
            if row["accepted"] not in ("true", "false"):
                raise ValueError(f"{where}: column accepted is {row['accepted']!r}, expected true or false")
            row["accepted"] = row["accepted"] == "true"
            rows.append(row)
    return rows
