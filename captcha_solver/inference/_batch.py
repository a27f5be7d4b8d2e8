"""Reading many files: one model per worker process, rows in the order of the files."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from captcha_solver.common import exit_with_parent, progress
from captcha_solver.inference._model import Model
from captcha_solver.settings import Config

__all__ = ["read_files"]

# Worker-process state: each process loads the model once.
_WORKER: dict[str, Any] = {}


def _init_worker(model_dir: str, config: Config) -> None:
    exit_with_parent()  # a killed `predict --workers N` must not leave its workers behind
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _WORKER["model"] = Model.load(model_dir, config)


def _read_in_worker(path: str) -> dict:
    return _WORKER["model"].read_row(path, name=path)


def read_files(
    model: Model, paths: Sequence[str | Path], *, workers: int = 0, show: bool = False, desc: str = "predict"
) -> Iterator[dict]:
    """Read files with ``model``: one results row each, in the order of ``paths``; bad files give error rows.

    With ``workers > 1`` (0: one per core) and at least 8 files, the files
    are read by a pool of processes that each load ``model.folder`` once.
    Closing the iterator early (an error while storing rows) stops the pool.
    """
    paths = [str(p) for p in paths]
    workers = workers or os.cpu_count() or 1
    pool = None
    if workers > 1 and len(paths) >= 8 and model.folder is not None:
        pool = ProcessPoolExecutor(
            max_workers=workers, initializer=_init_worker, initargs=(str(model.folder), model.config)
        )
        rows = pool.map(_read_in_worker, paths, chunksize=4)
    else:
        rows = (model.read_row(p, name=p) for p in paths)
    try:
        yield from progress(rows, total=len(paths), desc=desc, enabled=show)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)  # after an error (disk full), stop the rest
