"""The results CSV as a table: read, filtered by text, status and reader, sorted, and written back as CSV."""

from __future__ import annotations

import datetime as _dt
import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from captcha_solver.common import RESULTS_COLUMNS, ResultsLog, read_results
from captcha_solver.records._errors import RecordsError, existing_file, read_record_file

__all__ = ["NUMERIC_COLUMNS", "filter_results", "load_results", "parse_time", "results_csv_bytes"]

#: Columns sorted as numbers (an empty or bad cell sorts after every number).
NUMERIC_COLUMNS = ("confidence", "latency_ms")


def load_results(path: str | os.PathLike) -> list[dict[str, str]]:
    """The rows of the results CSV, oldest first.

    Raises
    ------
    RecordsError
        If the file is missing (``missing`` is then True), unreadable, or not a results CSV
        (the message names the file and the line).
    """
    path = existing_file(path, "read")
    return read_record_file(read_results, path)


def parse_time(text: str) -> _dt.datetime | None:
    """An ISO 8601 timestamp as an aware datetime (naive ones are taken as UTC); None if it is not one."""
    try:
        stamp = _dt.datetime.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=_dt.UTC)


def _sort_key(column: str):
    if column in NUMERIC_COLUMNS:

        def number(row):
            try:
                value = float(row.get(column, ""))
            except ValueError:
                return (1, 0.0)
            return (1, 0.0) if math.isnan(value) else (0, value)

        return number
    if column == "timestamp":

        def moment(row):
            stamp = parse_time(row.get("timestamp", ""))
            return (1, 0.0) if stamp is None else (0, stamp.timestamp())

        return moment
    return lambda row: (0, row[column].casefold()) if row.get(column) else (1, "")


def filter_results(
    rows: Sequence[dict[str, str]],
    *,
    contains: str = "",
    status: str = "",
    reader: str = "",
    sort: str = "timestamp",
    descending: bool = True,
) -> list[dict[str, str]]:
    """The rows that pass the filters, sorted.

    Parameters
    ----------
    rows : sequence of dict
        Results rows (:func:`load_results`).
    contains : str
        Plain text (not a pattern) that the file name, prediction or error must contain, case-insensitive.
    status, reader : str
        Exact ``status`` (``ok``/``error``) and ``reader`` values to keep; empty keeps all.
    sort : str
        A results column. ``confidence`` and ``latency_ms`` sort as numbers and ``timestamp`` as
        time; rows with an empty value come last either way.
    descending : bool
        Largest (newest) first.

    Raises
    ------
    RecordsError
        If ``sort`` is not a results column (the message lists them).
    """
    if sort not in RESULTS_COLUMNS:
        raise RecordsError(f"cannot sort by {sort!r}: expected one of {', '.join(RESULTS_COLUMNS)}")
    needle = contains.casefold()
    kept = [
        row
        for row in rows
        if (not status or row.get("status", "") == status)
        and (not reader or row.get("reader", "") == reader)
        and (not needle or any(needle in row.get(k, "").casefold() for k in ("file", "prediction", "error")))
    ]
    key = _sort_key(sort)
    # Rows without a value stay last whichever the direction: sort those apart.
    present = [row for row in kept if key(row)[0] == 0]
    absent = [row for row in kept if key(row)[0] != 0]
    present.sort(key=key, reverse=descending)
    return present + absent


def results_csv_bytes(rows: Sequence[dict[str, str]]) -> bytes:
    """Rows as a results CSV (header, escaping and formula guard as :class:`common.ResultsLog` writes them)."""
    with tempfile.TemporaryDirectory(prefix="captcha-results-") as folder:
        path = Path(folder) / "results.csv"
        log = ResultsLog(path)
        log.append_many({column: row.get(column, "") for column in RESULTS_COLUMNS} for row in rows)
        return path.read_bytes() if path.exists() else (",".join(RESULTS_COLUMNS) + "\n").encode()
