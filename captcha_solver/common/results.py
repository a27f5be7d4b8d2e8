"""Append-only CSV of predictions, safe for concurrent writers.

Each call writes its rows with a single ``os.write`` on a file opened with
``O_APPEND`` while holding an exclusive ``flock``: rows from concurrent
threads or processes never interleave, the header is written exactly once,
and a crash cannot leave half a row behind (a short write is rolled back).

Every cell is escaped with :func:`common.escaping.escape_text`, so a row is
one line of the file whatever the file name holds (newline, carriage
return, tab, bytes that are not UTF-8), and text cells that a spreadsheet
would run as a formula get a leading ``'``. :func:`read_results` undoes both.
"""

from __future__ import annotations

import csv
import datetime as _dt
import errno
import fcntl
import io
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from captcha_solver.common.escaping import escape_text, neutralise_formula, restore_formula, unescape_text

__all__ = ["RESULTS_COLUMNS", "DEFAULT_RESULTS_CSV", "ResultsLog", "ResultsWriteError", "read_results"]

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
#: Columns holding text (names, messages, readings): formula-neutralised.
TEXT_COLUMNS = frozenset({"file", "prediction", "reader", "status", "error"})


class ResultsWriteError(OSError):
    """Rows could not be appended to the results CSV (disk full, no permission...).

    The file keeps only whole rows: what was written of the failed rows is
    truncated away. ``errno`` is the cause's (``errno.ENOSPC`` for a full disk).
    """

    def __str__(self) -> str:
        return str(self.strerror)


def _cell(value, column: str, text_columns: frozenset) -> str:
    # Escaped first (one line, UTF-8-safe), then neutralised: the escape
    # never produces a leading = + - @ that was not already there.
    text = escape_text(_text(value))
    return neutralise_formula(text) if column in text_columns else text


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        # Per-character confidences: one cell, ';'-separated, so the column
        # count stays fixed whatever the captcha length.
        return ";".join(_text(v) for v in value)
    if isinstance(value, float):
        return format(value, ".6g")
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _text(value.item())
    if isinstance(value, bytes):
        return os.fsdecode(value)
    return str(value)


def read_results(path: str | os.PathLike) -> list[dict[str, str]]:
    """The rows of a results CSV with the original text of every cell.

    Parameters
    ----------
    path : str or PathLike

    Returns
    -------
    rows : list of dict
        One per row, keyed by :data:`RESULTS_COLUMNS`; the formula prefix is
        dropped and escapes are undone (:func:`common.escaping.unescape_text`),
        so ``os.fsencode(row["file"])`` is the file name's bytes.

    Raises
    ------
    ValueError
        If the file does not start with the results header, a row has another
        number of cells, or a cell holds an invalid escape; the message names
        the file and the line.
    """
    return ResultsLog.read_rows(path)


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
    ``None`` as empty), escaped (:mod:`common.escaping`: control characters
    and undecodable bytes as ``\\n``, ``\\xNN``...; text cells starting with
    ``= + - @ '`` get a leading ``'``) and csv-quoted: every row is one line,
    and :func:`read_results` gives back the original text.

    Examples
    --------
    >>> log = ResultsLog(tmp_path / "results.csv")  # doctest: +SKIP
    >>> log.append({"file": "a.png", "prediction": "x7k2", "status": "ok"})  # doctest: +SKIP
    """

    #: The columns, in file order; a subclass (another append-only log) sets its own.
    columns: tuple[str, ...] = RESULTS_COLUMNS
    #: Columns holding text: formula-neutralised when written, restored when read.
    text_columns: frozenset = TEXT_COLUMNS
    #: What a row is, in error messages.
    kind = "results"

    def __init__(self, path: str | os.PathLike = DEFAULT_RESULTS_CSV):
        self.path = Path(path)
        #: Rows this writer appended (under the file lock), for error messages.
        self.appended = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    @classmethod
    def read_rows(cls, path: str | os.PathLike) -> list[dict[str, str]]:
        """The rows of a file this log writes, keyed by :attr:`columns`, with every cell's original text.

        Raises
        ------
        ValueError
            If the file does not start with the header, a row has another number of cells, or a
            cell holds an invalid escape; the message names the file and the line.
        """
        path, columns = Path(path), cls.columns
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, [])
            if tuple(header) != columns:
                raise ValueError(
                    f"{path}: expected the {cls.kind} header '{','.join(columns)}', found '{','.join(header)[:200]}'"
                )
            rows = []
            for cells in reader:
                where = f"{path}, line {reader.line_num}"
                if len(cells) != len(columns):
                    raise ValueError(f"{where}: expected {len(columns)} cells, found {len(cells)}")
                row = {}
                for column, cell in zip(columns, cells):
                    try:
                        row[column] = unescape_text(
                            restore_formula(cell) if column in cls.text_columns else cell
                        )
                    except ValueError as exc:
                        raise ValueError(f"{where}, column {column}: {exc}") from None
                rows.append(row)
        return rows

    def _encode(self, rows: Iterable[Mapping]) -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        count = 0
        for row in rows:
            if not isinstance(row, Mapping):
                raise TypeError(f"{self.path}: a {self.kind} row must be a dict, got {type(row).__name__}")
            unknown = sorted(set(row) - set(self.columns), key=str)
            if unknown:
                raise ValueError(
                    f"{self.path}: unknown {self.kind} column(s) {', '.join(map(repr, unknown))}; "
                    f"expected some of {', '.join(self.columns)}"
                )
            values = dict(row)
            if not values.get("timestamp"):
                values["timestamp"] = _dt.datetime.now().astimezone().isoformat(timespec="milliseconds")
            writer.writerow([_cell(values.get(column), column, self.text_columns) for column in self.columns])
            count += 1
        return buffer.getvalue().encode("utf-8") if count else b""

    def _check_header(self, fd: int) -> None:
        header = ",".join(self.columns)
        first = os.pread(fd, len(header) + 2, 0).decode("utf-8", "replace").splitlines()
        found = first[0] if first else ""
        if found != header:
            raise ValueError(
                f"{self.path}: existing file does not start with the {self.kind} header; "
                f"expected '{header}', found '{found[:200]}'. Move it away or choose another results file."
            )

    def append_many(self, rows: Iterable[Mapping]) -> int:
        """Append several rows in one atomic write.

        Parameters
        ----------
        rows : iterable of dict
            Each maps column names (a subset of :attr:`columns`) to
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
        ResultsWriteError
            An ``OSError`` naming the file, the reason (e.g. "No space left
            on device") and how many rows of this writer were saved before;
            a partial write is truncated away first.
        """
        rows = list(rows)
        payload = self._encode(rows)
        if not payload:
            return 0
        try:
            self._write(payload, len(rows))
        except ResultsWriteError:
            raise
        except OSError as exc:
            raise self._write_error(len(rows), exc.strerror or str(exc), exc.errno) from exc
        return len(rows)

    def _write_error(self, n_rows: int, reason: str, code: int | None) -> ResultsWriteError:
        return ResultsWriteError(
            code,
            f"{self.path}: cannot append {n_rows} row(s): {reason}; they were not saved "
            f"({self.appended} earlier row(s) of this run were; the file holds only whole rows)",
        )

    def _write(self, payload: bytes, n_rows: int) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = f"cannot create its folder {self.path.parent} ({exc.strerror or exc})"
            raise self._write_error(n_rows, reason, exc.errno) from exc
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            size = os.fstat(fd).st_size
            if size == 0:
                # Checked under the lock: of two writers creating the file,
                # only the first sees it empty and writes the header.
                payload = (",".join(self.columns) + "\n").encode("utf-8") + payload
            else:
                self._check_header(fd)
            try:
                written = os.write(fd, payload)
            except BaseException:
                # A failed write(2) wrote nothing; the truncation is a safety
                # net and may itself fail (e.g. on a device such as /dev/full).
                _truncate(fd, size)
                raise
            if written != len(payload):
                # Disk full or similar: never leave half a row behind.
                problem = _truncate(fd, size)
                reason = f"short write ({written} of {len(payload)} bytes; the disk is probably full)"
                if problem:
                    reason += f", and the partial row could not be removed ({problem})"
                raise self._write_error(n_rows, reason, errno.ENOSPC)
            self.appended += n_rows  # under the lock: concurrent threads count right
        finally:
            os.close(fd)  # closing also releases the flock

    def append(self, row: Mapping) -> None:
        """Append one row (see :meth:`append_many` for the accepted values and errors)."""
        self.append_many([row])


def _truncate(fd: int, size: int) -> str:
    """Cut the file back to ``size`` bytes; the error text if that failed, else ''."""
    try:
        os.ftruncate(fd, size)
    except OSError as exc:
        return exc.strerror or str(exc)
    return ""
