"""Append-only CSV of predictions, safe for concurrent writers.

Each call writes its rows with a single ``os.write`` on a file opened with
``O_APPEND`` while holding an exclusive ``flock``: rows from concurrent
threads or processes never interleave, the header is written exactly once,
and a crash cannot leave half a row behind (a short write is rolled back).
"""

from __future__ import annotations

import csv
import datetime as _dt
import fcntl
import io
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

__all__ = ["RESULTS_COLUMNS", "DEFAULT_RESULTS_CSV", "ResultsLog"]

RESULTS_COLUMNS = (
    "timestamp",
    "file",
    "prediction",
    "confidence",
    "char_confidences",
    "latency_ms",
    "reader",
    "status",
    "error",
)
DEFAULT_RESULTS_CSV = Path("data") / "results.csv"


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        # Per-character confidences: one cell, ';'-separated, so the column
        # count stays fixed whatever the captcha length.
        return ";".join(_cell(v) for v in value)
    if isinstance(value, float):
        return format(value, ".6g")
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _cell(value.item())
    return str(value)


class ResultsLog:
    """Append rows to a results CSV with columns :data:`RESULTS_COLUMNS`.

    Parameters
    ----------
    path : str or PathLike, optional
        The CSV file, ``./data/results.csv`` by default. Its folder is created on
        the first append.

    Notes
    -----
    The file is opened for each call, so a ``ResultsLog`` can be shared by
    threads or re-created in worker processes freely. Values are converted
    with ``str`` (floats with 6 significant digits, lists joined by ``;``,
    ``None`` as empty) and csv-quoted, so commas, quotes and newlines in
    error messages survive a ``csv.DictReader`` round trip.

    Examples
    --------
    >>> log = ResultsLog(tmp_path / "results.csv")  # doctest: +SKIP
    >>> log.append({"file": "a.png", "prediction": "x7k2", "status": "ok"})  # doctest: +SKIP
    """

    columns = RESULTS_COLUMNS

    def __init__(self, path: str | os.PathLike = DEFAULT_RESULTS_CSV):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"ResultsLog({str(self.path)!r})"

    def _encode(self, rows: Iterable[Mapping]) -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        count = 0
        for row in rows:
            if not isinstance(row, Mapping):
                raise TypeError(f"{self.path}: a results row must be a dict, got {type(row).__name__}")
            unknown = sorted(set(row) - set(RESULTS_COLUMNS), key=str)
            if unknown:
                raise ValueError(
                    f"{self.path}: unknown column(s) {', '.join(map(repr, unknown))}; "
                    f"expected some of {', '.join(RESULTS_COLUMNS)}"
                )
            values = dict(row)
            if not values.get("timestamp"):
                values["timestamp"] = _dt.datetime.now().astimezone().isoformat(timespec="milliseconds")
            writer.writerow([_cell(values.get(column)) for column in RESULTS_COLUMNS])
            count += 1
        return buffer.getvalue().encode("utf-8") if count else b""

    def _check_header(self, fd: int) -> None:
        header = ",".join(RESULTS_COLUMNS)
        first = os.pread(fd, len(header) + 2, 0).decode("utf-8", "replace").splitlines()
        found = first[0] if first else ""
        if found != header:
            raise ValueError(
                f"{self.path}: existing file does not start with the results header; "
                f"expected '{header}', found '{found[:200]}'. Move it away or choose another results file."
            )

    def append_many(self, rows: Iterable[Mapping]) -> int:
        """Append several rows in one atomic write.

        Parameters
        ----------
        rows : iterable of dict
            Each maps column names (a subset of :data:`RESULTS_COLUMNS`) to
            values. Missing columns are left empty; a missing ``timestamp``
            is set to now.

        Returns
        -------
        n_rows : int
            Number of rows written.

        Raises
        ------
        ValueError
            If a row has a key that is not a column, or the existing file has
            another header.
        TypeError
            If a row is not a mapping.
        OSError
            If the write fails; a partial write is truncated away first.
        """
        rows = list(rows)
        payload = self._encode(rows)
        if not payload:
            return 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            size = os.fstat(fd).st_size
            if size == 0:
                # Checked under the lock: of two writers creating the file,
                # only the first sees it empty and writes the header.
                payload = (",".join(RESULTS_COLUMNS) + "\n").encode("utf-8") + payload
            else:
                self._check_header(fd)
            try:
                written = os.write(fd, payload)
            except BaseException:
                os.ftruncate(fd, size)
                raise
            if written != len(payload):
                # Disk full or similar: never leave half a row behind.
                os.ftruncate(fd, size)
                raise OSError(f"{self.path}: short write ({written} of {len(payload)} bytes); rows not saved")
        finally:
            os.close(fd)  # closing also releases the flock
        return len(rows)

    def append(self, row: Mapping) -> None:
        """Append one row (see :meth:`append_many` for the accepted values and errors)."""
        self.append_many([row])
