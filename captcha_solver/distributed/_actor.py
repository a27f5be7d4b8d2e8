"""The Ray Data callable class: one model per actor, one results row per path of a block.

Paths and text go between the driver and the actors as bytes (``os.fsencode``,
UTF-8 with *surrogateescape*): a file name may hold bytes that are not UTF-8,
which an Arrow string column refuses, and the row must name the file exactly
as a local run does.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from captcha_solver.common import RESULTS_COLUMNS
from captcha_solver.inference import Model
from captcha_solver.read_result import csv_row
from captcha_solver.settings import Config

__all__ = ["ROW_COLUMNS", "BlockReader", "from_wire", "to_wire", "wire_schema"]

#: The row columns an actor returns: the results CSV's, without the timestamp the writer adds.
ROW_COLUMNS = tuple(c for c in RESULTS_COLUMNS if c != "timestamp")
_NUMBERS = ("confidence", "latency_ms")


def wire_schema():
    """The Arrow schema of the rows an actor returns: text as bytes, numbers as float64."""
    import pyarrow as pa

    types = {
        "confidence": pa.float64(),
        "latency_ms": pa.float64(),
        "char_confidences": pa.list_(pa.float64()),
    }
    return pa.schema([(c, types.get(c, pa.binary())) for c in ROW_COLUMNS])


def to_wire(row: Mapping) -> dict:
    """A results row (:func:`read_result.csv_row`) as the actor sends it (:func:`wire_schema`)."""
    out = {}
    for column in ROW_COLUMNS:
        value = row.get(column)
        if column in _NUMBERS:
            out[column] = float(value or 0.0)
        elif column == "char_confidences":
            out[column] = [float(c) for c in value or ()]
        else:
            out[column] = os.fsencode("" if value is None else str(value))
    return out


def from_wire(row: Mapping) -> dict:
    """A row as the driver writes it: the inverse of :func:`to_wire`."""
    return {c: (os.fsdecode(v) if isinstance(v, bytes) else v) for c, v in row.items()}


class BlockReader:
    """Read a block of files on a Ray actor with a model loaded once, when the actor starts.

    Each file is read by :meth:`inference.Model.read_row` from its path, as a
    local run reads it: the same size and pixel limits are checked before the
    file is read in full, and a file that cannot be read becomes its error row
    instead of failing the block.

    Parameters
    ----------
    model_dir : str
        The model folder, at a path every node sees (shared storage, or the
        model shipped inside the installed package).
    config : Config
        The settings of the run (``input`` limits, ``routing``, threads).
    """

    def __init__(self, model_dir: str, config: Config):
        os.environ.setdefault("OMP_NUM_THREADS", "1")  # one actor per CPU: no thread oversubscription
        self.model = Model.load(model_dir, config)
        self.schema = wire_schema()

    def __call__(self, batch):
        """A pyarrow table of paths (binary column ``path``) -> the table of their rows, in the same order."""
        import pyarrow as pa

        rows = []
        for raw in batch.column("path").to_pylist():
            path = os.fsdecode(raw)
            rows.append(to_wire(csv_row(self.model.read_row(path, name=path))))
        return pa.Table.from_pylist(rows, schema=self.schema)
