"""The feedback records: an append-only ``feedback.csv``, one row per answer the site judged.

Rows are written by the results CSV's writer (:class:`captcha_solver.common.ResultsLog`) with
the feedback columns: one ``os.write`` on a file opened with ``O_APPEND`` under an exclusive
``flock``, the header exactly once, every cell escaped and text cells neutralised against
spreadsheet formulas; nothing of a row that failed to be written is left behind.
"""

from __future__ import annotations

import os
from pathlib import Path

from captcha_solver.common import ResultsLog

__all__ = ["FEEDBACK_COLUMNS", "FEEDBACK_CSV", "FeedbackLog", "read_feedback"]

FEEDBACK_COLUMNS = ("timestamp", "request_id", "model_version", "prediction", "accepted", "text", "saved_as")
#: The file's name inside the feedback folder (``feedback.dir``).
FEEDBACK_CSV = "feedback.csv"


class FeedbackLog(ResultsLog):
    """Append rows to ``feedback.csv``, safe for concurrent threads and processes.

    The results log's writer with the feedback columns (``append(row)``, ``append_many(rows)``;
    ``timestamp`` defaults to now; a bool is written ``true``/``false``).

    Parameters
    ----------
    path : path
        The CSV file; its folder is created on the first append.
    """

    columns = FEEDBACK_COLUMNS
    text_columns = frozenset({"request_id", "model_version", "prediction", "text", "saved_as"})
    kind = "feedback"


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
    rows = FeedbackLog.read_rows(path)
    for number, row in enumerate(rows, start=2):
        if row["accepted"] not in ("true", "false"):
            raise ValueError(
                f"{path}, line {number}: column accepted is {row['accepted']!r}, expected true or false"
            )
        row["accepted"] = row["accepted"] == "true"
    return rows
