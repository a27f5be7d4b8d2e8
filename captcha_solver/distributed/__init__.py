"""Batch reading on a Ray cluster (``predict --engine ray``): the optional ``ray`` extra.

:func:`predict_on_ray` reads every image of a folder with Ray Data: the
folder's files, listed as a local run lists them, are split into blocks of
paths and read by a pool of actors that each load the model once; the
driver writes the same rows a local run writes, once per file (results CSV,
or Parquet when the results path ends in ``.parquet``). Ray is imported only
when a run starts, so nothing else in the project needs it.
"""

from captcha_solver.distributed._cluster import RayNotInstalledError, import_ray
from captcha_solver.distributed._parquet import append_parquet, read_parquet_results
from captcha_solver.distributed._run import DEFAULT_BATCH_SIZE, predict_on_ray

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "RayNotInstalledError",
    "append_parquet",
    "import_ray",
    "predict_on_ray",
    "read_parquet_results",
]
