"""``predict --engine ray``: a folder read by a Ray Data actor pool, rows written once each by the driver.

Ray Data gets the files' paths, not their bytes (``read_binary_files``): its
read task would fail the whole job on the first file it cannot open, and
read a file whole before any size limit is checked. Each actor reads its
block's paths with the model's own decoder, so the limits, the error rows
and their messages are a local run's. Blocks still travel as Arrow tables.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable
from pathlib import Path

from captcha_solver.common import ResultsLog, get_logger, progress
from captcha_solver.distributed._actor import BlockReader, from_wire
from captcha_solver.distributed._cluster import import_ray, ray_session
from captcha_solver.distributed._parquet import append_parquet, read_parquet_results
from captcha_solver.image_io import list_dataset
from captcha_solver.inference import Model
from captcha_solver.read_result import csv_row, error_row

__all__ = ["DEFAULT_BATCH_SIZE", "predict_on_ray"]

#: Files per block (one actor call): enough readings to outweigh Ray's cost per task,
#: few enough that a lost actor re-reads little and the progress bar moves.
DEFAULT_BATCH_SIZE = 32


class _Sink:
    """Where the rows go: appended to the results CSV as they come, or to a Parquet file at the end."""

    def __init__(self, path: Path):
        self.path = path
        self.parquet = path.suffix.lower() == ".parquet"
        self.log = None if self.parquet else ResultsLog(path)
        self.pending: list[dict] = []
        if self.parquet and path.exists():
            read_parquet_results(path)  # a file that is not ours is refused now, not after the job

    def add(self, rows: list[dict]) -> None:
        if self.parquet:
            self.pending.extend(rows)
        else:
            self.log.append_many(rows)

    def close(self) -> None:
        if self.parquet and self.pending:
            rows, self.pending = self.pending, []
            append_parquet(self.path, rows)


def predict_on_ray(
    model: Model,
    dataset_dir: str | os.PathLike,
    results: str | os.PathLike,
    *,
    address: str | None = None,
    workers: int = 0,
    batch_size: int = DEFAULT_BATCH_SIZE,
    show: bool = True,
    logger: logging.Logger | None = None,
) -> list[dict]:
    """Read every image of a folder on Ray; one results row per file, as a local ``predict`` run writes them.

    The folder is listed as a local run lists it (``input`` settings):
    entries that are not read get their error rows first. The images' paths
    go to Ray Data in blocks of ``batch_size``, read by a pool of actors
    (:class:`BlockReader`, one CPU each, as many as the cluster has CPUs) that
    load ``model.folder`` once. The driver writes each block's rows as it
    arrives, in the order of the files, and keeps one row per file: a block
    Ray runs again after a worker died gives no second row, and a file that
    got no row from the cluster is read here.

    Parameters
    ----------
    model : inference.Model
        The loaded model; its folder must be at the same path on every node.
    dataset_dir : path
        The folder of captchas (local, or shared storage every node sees).
    results : path
        The results CSV rows are appended to, or a ``.parquet`` file.
    address : str, optional
        The cluster's head (``host:port``); None starts a local Ray instance.
    workers : int
        CPUs of the local instance (0: all cores); ignored with ``address``.
    batch_size : int
        Files per block.
    show : bool
        Show progress (rows done / total) on stderr.
    logger : logging.Logger, optional
        Where bad files are logged (default: the project logger).

    Returns
    -------
    rows : list of dict
        The rows written (:func:`read_result.csv_row` columns), listing errors first.

    Raises
    ------
    FileNotFoundError, NotADirectoryError, EmptyDatasetError
        If the folder is missing or empty.
    RayNotInstalledError
        Without the ``ray`` extra (before anything is written).
    ValueError
        If the results file exists and is not a results CSV or Parquet file (it is left as it is).
    RuntimeError
        If the cluster cannot be reached, or the job fails (the rows of the
        files read before are saved; the message says how many).
    """
    logger = logger or get_logger()
    if model.folder is None:
        raise ValueError("the ray engine needs a model loaded from a folder (the actors load it again)")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    import_ray()  # first: without the extra, the run stops before anything is written
    images, rejected = list_dataset(dataset_dir, model.config.input)
    sink = _Sink(Path(results))
    bad = []
    for path, reason in rejected:
        logger.error("%s: %s", path, reason)
        bad.append(csv_row(error_row(str(path), f"{path.name}: {reason}")))
    try:
        if not images:
            sink.add(bad)
            return bad
        with ray_session(address, workers) as cpus:
            sink.add(bad)  # once the cluster answers: a run that cannot start writes nothing
            return bad + _read_images(model, [str(p) for p in images], sink, cpus, batch_size, show, logger)
    finally:
        sink.close()


def _read_images(model, paths, sink, cpus, batch_size, show, logger) -> list[dict]:
    wanted = set(paths)
    done: dict[str, dict] = {}
    bar = progress(total=len(paths), desc="predict", enabled=show)
    try:
        try:
            for block in _blocks(model, paths, cpus, batch_size):
                fresh = _fresh(block, wanted, done)
                sink.add(fresh)
                if bar is not None:
                    bar.update(len(fresh))
        except Exception as exc:  # Ray's own errors (RayTaskError, ActorDiedError...) share no base class
            if isinstance(exc, (OSError, ValueError)):  # the results file, not Ray: as it is
                raise
            raise RuntimeError(
                f"the Ray job stopped after {len(done)} of {len(paths)} files "
                f"(their rows are saved in {sink.path}): {type(exc).__name__}: {exc}"
            ) from exc
        missing = [p for p in paths if p not in done]
        if missing:
            # Ray Data hands every block over once; should a row still be missing, the file is read here.
            logger.warning("%d file(s) got no row from the Ray cluster; reading them here", len(missing))
            for path in missing:
                row = csv_row(model.read_row(path, name=path))
                done[path] = row
                sink.add([row])
                if bar is not None:
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    for row in done.values():
        if row["status"] == "error":
            logger.error("%s", row["error"])
    return [done[p] for p in paths]


def _fresh(block: Iterable[dict], wanted: set[str], done: dict[str, dict]) -> list[dict]:
    """The rows of a block for files with no row yet (recorded in ``done``); others are dropped."""
    fresh = []
    for row in block:
        name = row["file"]
        if name in wanted and name not in done:
            done[name] = row
            fresh.append(row)
    return fresh


def _blocks(model: Model, paths: list[str], cpus: int, batch_size: int):
    """The rows of the files, block by block, in the order of ``paths``, from a pool of ``cpus`` actors."""
    import ray
    from ray.data import ActorPoolStrategy, DataContext

    context = DataContext.get_current()
    context.execution_options.preserve_order = True  # rows in file order, as a local run writes them
    context.enable_progress_bars = False  # the project's own bar counts rows
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)  # not its per-run INFO lines
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)  # "progress bars disabled"
    items = [{"path": os.fsencode(p)} for p in paths]
    dataset = ray.data.from_items(items, override_num_blocks=math.ceil(len(paths) / batch_size))
    rows = dataset.map_batches(
        BlockReader,
        fn_constructor_args=(str(model.folder), model.config),
        batch_size=batch_size,
        batch_format="pyarrow",
        compute=ActorPoolStrategy(min_size=1, max_size=min(cpus, math.ceil(len(paths) / batch_size))),
        # Ray Data starts its pool actors with max_restarts=-1 and max_task_retries=-1 (its
        # documented default, which the deprecated ray_remote_args would only restate): a dead
        # actor is started again and its blocks re-run. The driver keeps the first row of each
        # file, so a re-run never writes a row twice (tests/ray_batch kill a node to check).
        num_cpus=1,
    )
    for table in rows.iter_batches(batch_format="pyarrow", batch_size=None):
        yield [from_wire(r) for r in table.to_pylist()]
