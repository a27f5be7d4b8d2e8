"""The loaded model and how its readers answer: the top of the inference wing.

:class:`Model` holds a model folder's readers (classical, neural or both)
and reads captchas with them (:meth:`Model.read` -> ``ReadResult``);
:class:`ReadPolicy` is how its readers combine; :func:`read_files` reads a
batch of files on a pool of processes. Nothing here trains.
"""

from captcha_solver.inference._batch import read_files
from captcha_solver.inference._model import Model, default_model_dir, shipped_model_dir
from captcha_solver.inference._routing import DEFAULT_MIN_CONFIDENCE, ReadPolicy, fusion_sample, read_routed

__all__ = [
    "DEFAULT_MIN_CONFIDENCE",
    "Model",
    "ReadPolicy",
    "default_model_dir",
    "fusion_sample",
    "read_files",
    "read_routed",
    "shipped_model_dir",
]
