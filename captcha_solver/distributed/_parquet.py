"""Results rows as a Parquet file: the columns of the results CSV, typed, appended by rewriting atomically."""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from captcha_solver.common import RESULTS_COLUMNS, atomic_write_bytes, escape_text, unescape_text

__all__ = ["append_parquet", "read_parquet_results", "results_schema"]

_TEXT = ("file", "prediction", "reader", "status", "error")


def results_schema():
    """The Arrow schema of a results row: :data:`common.RESULTS_COLUMNS`, numbers as float64."""
    import pyarrow as pa

    types = {
        "confidence": pa.float64(),
        "latency_ms": pa.float64(),
        "char_confidences": pa.list_(pa.float64()),
    }
    return pa.schema([(c, types.get(c, pa.string())) for c in RESULTS_COLUMNS])


def _stamped(row: Mapping) -> dict:
    values = {c: row.get(c) for c in RESULTS_COLUMNS}
    if not values["timestamp"]:
        values["timestamp"] = _dt.datetime.now().astimezone().isoformat(timespec="milliseconds")
    for column in _TEXT:
        # Escaped as in the results CSV: a name's bytes that are not UTF-8 cannot go in a Parquet string.
        values[column] = escape_text("" if values[column] is None else values[column])
    return values


def read_parquet_results(path: str | os.PathLike) -> list[dict]:
    """The rows of a results Parquet file (keys :data:`common.RESULTS_COLUMNS`), text unescaped.

    Raises
    ------
    ValueError
        If the file is not Parquet or lacks the results columns; the message names it.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise ValueError(
            f"{path}: existing file is not a Parquet results file ({exc}); "
            "move it away or choose another results file"
        ) from None
    if table.schema.names != list(RESULTS_COLUMNS):
        raise ValueError(
            f"{path}: existing Parquet file has the columns {', '.join(table.schema.names)[:200]}, "
            f"not the results columns {', '.join(RESULTS_COLUMNS)}; move it away or choose another results file"
        )
    rows = table.cast(results_schema()).to_pylist()
    for row in rows:
        for column in _TEXT:
            row[column] = unescape_text(row[column] or "")
    return rows


def append_parquet(path: str | os.PathLike, rows: Iterable[Mapping]) -> int:
    """Append ``rows`` to the results Parquet file at ``path`` (created if missing).

    Parquet cannot be appended in place: the old rows and the new ones are
    written to a temporary file that replaces ``path`` in one rename, so a
    crash leaves the old file or the new one, never a mix. A file that is not
    a results Parquet file is never overwritten.

    Returns
    -------
    n_rows : int
        Rows appended (a missing ``timestamp`` is set to now).

    Raises
    ------
    ValueError
        If ``path`` exists and is not a results Parquet file.
    OSError
        If the file cannot be written (the message names it).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    added = pa.Table.from_pylist([_stamped(r) for r in rows], schema=results_schema())
    table = added
    if path.exists():
        read_parquet_results(path)  # refuses a file that is not ours before anything is written
        table = pa.concat_tables([pq.read_table(path).cast(results_schema()), added])
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, sink.getvalue().to_pybytes())
    return added.num_rows
