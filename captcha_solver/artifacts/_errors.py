"""The model folder's error types: missing (train first) against broken (restore or retrain)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["CorruptModelError", "ModelFolderError", "ModelNotFoundError"]


class ModelFolderError(ValueError):
    """The model folder is missing, incomplete or does not match its manifest."""


class ModelNotFoundError(ModelFolderError):
    """There is no model at all: the folder or its ``manifest.json`` does not exist."""


class CorruptModelError(ModelFolderError):
    """A model folder is there but broken: its manifest or one of its files cannot be used.

    Parameters
    ----------
    model_dir : path
        The folder.
    problem : str
        What is wrong, naming the file or manifest key.
    """

    def __init__(self, model_dir: str | Path, problem: str):
        self.model_dir = Path(model_dir)
        self.problem = problem
        super().__init__(f"model in {model_dir} is corrupt: {problem}")
