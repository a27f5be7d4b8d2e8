"""A tracked run: metrics kept in memory, and mirrored to Weights & Biases when it is there."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from captcha_solver.common import LOGGER_NAME

__all__ = ["Run"]

_logger = logging.getLogger(f"{LOGGER_NAME}.tracking")

# W&B accepts artifact names made of letters, digits, dashes, underscores and dots.
_ARTIFACT_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


class Run:
    """One training or evaluation run.

    Every call is recorded in memory (:attr:`history`, :attr:`summary_values`,
    :attr:`artifacts`) whether or not W&B backs the run, so callers and tests
    can read the metrics back. Failures of W&B itself are logged as warnings
    and turn the run into a no-op one: training never fails because of
    tracking. Created by :func:`tracking.start_run`; usable as a context
    manager, which finishes the run (with exit code 1 on an exception).

    Parameters
    ----------
    project : str
        W&B project name.
    config : Mapping
        Hyper-parameters of the run.
    mode : str
        The mode asked for: ``"offline"``, ``"online"`` or ``"disabled"``.
    backend : wandb run, optional
        The W&B run; None for a no-op run.
    wandb_module : module, optional
        The imported ``wandb``, to build artifacts; None for a no-op run.
    reason : str, optional
        Why the run is a no-op although W&B was asked for.

    Attributes
    ----------
    project : str
    config : dict
    requested_mode : str
        The mode asked for.
    history : list of dict
        Every ``log`` call's metrics, in order.
    artifacts : list of (Path, str, str)
        ``(path, name, type)`` of every logged artifact.
    """

    def __init__(
        self,
        project: str,
        config: Mapping[str, Any],
        mode: str,
        backend: Any = None,
        wandb_module: Any = None,
        reason: str | None = None,
    ):
        self.project = project
        self.config = dict(config)
        self.requested_mode = mode
        self.history: list[dict[str, Any]] = []
        self.artifacts: list[tuple[Path, str, str]] = []
        self._summary: dict[str, Any] = {}
        self._backend = backend
        self._wandb = wandb_module
        self._reason = reason
        self._finished = False

    @property
    def mode(self) -> str:
        """The mode in force: the requested one, or ``"disabled"`` for a no-op run."""
        return self.requested_mode if self._backend is not None else "disabled"

    @property
    def tracked(self) -> bool:
        """Whether W&B records this run."""
        return self._backend is not None

    @property
    def reason(self) -> str | None:
        """Why W&B does not record the run although it was asked to, or None."""
        return self._reason

    @property
    def dir(self) -> Path | None:
        """The W&B run's files folder (under ``<dir>/wandb/``), or None for a no-op run."""
        return Path(self._backend.dir) if self._backend is not None else None

    @property
    def finished(self) -> bool:
        """Whether :meth:`finish` was called."""
        return self._finished

    @property
    def summary_values(self) -> dict[str, Any]:
        """The final values set with :meth:`summary` (a copy)."""
        return dict(self._summary)

    def log(self, metrics: Mapping[str, Any]) -> None:
        """Record one step of metrics, e.g. ``{"epoch": 3, "val/accuracy": 0.91}``.

        Raises
        ------
        TypeError
            If ``metrics`` is not a mapping with string keys.
        RuntimeError
            If the run is finished.
        """
        metrics = self._checked("metrics", metrics)
        self.history.append(metrics)
        self._call("log", lambda: self._backend.log(metrics))

    def summary(self, values: Mapping[str, Any]) -> None:
        """Set final values of the run (best accuracy, chosen model...), shown in the W&B run table.

        Raises
        ------
        TypeError
            If ``values`` is not a mapping with string keys.
        RuntimeError
            If the run is finished.
        """
        values = self._checked("summary values", values)
        self._summary.update(values)
        self._call("summary", lambda: self._backend.summary.update(values))

    def log_artifact(self, path: str | os.PathLike, name: str, type: str = "model") -> None:  # noqa: A002 - W&B's name
        """Attach a file or a folder (e.g. the trained model) to the run as a versioned artifact.

        Parameters
        ----------
        path : str or PathLike
            File or folder to store.
        name : str
            Artifact name: letters, digits, ``-``, ``_`` and ``.``.
        type : str, optional
            Artifact type, ``"model"`` by default (``"dataset"``, ``"figures"``...).

        Raises
        ------
        FileNotFoundError
            If ``path`` does not exist.
        ValueError
            If ``name`` or ``type`` is not a valid artifact name.
        RuntimeError
            If the run is finished.
        """
        self._check_open()
        path = Path(path)
        for label, value in (("name", name), ("type", type)):
            if not isinstance(value, str) or not _ARTIFACT_NAME.match(value):
                raise ValueError(
                    f"artifact {label} is {value!r}; expected a non-empty string of letters, digits, '-', '_' and '.'"
                )
        if not path.exists():
            raise FileNotFoundError(f"artifact path not found: {path}; expected an existing file or folder")
        self.artifacts.append((path, name, type))

        def _upload():
            artifact = self._wandb.Artifact(name, type=type)
            if path.is_dir():
                artifact.add_dir(str(path))
            else:
                artifact.add_file(str(path))
            self._backend.log_artifact(artifact)

        self._call("log_artifact", _upload)

    def finish(self, exit_code: int = 0) -> None:
        """End the run; calling it again does nothing.

        Offline runs stay on disk under the run's ``dir`` and can be uploaded
        later with ``wandb sync``.
        """
        if self._finished:
            return
        self._finished = True
        self._call("finish", lambda: self._backend.finish(exit_code=exit_code), check_open=False)

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        self.finish(exit_code=0 if exc_type is None else 1)
        return False

    def __repr__(self) -> str:
        return f"Run(project={self.project!r}, mode={self.mode!r}, steps={len(self.history)})"

    def _check_open(self) -> None:
        if self._finished:
            raise RuntimeError(f"run of project {self.project!r} is finished; start a new run to record more")

    def _checked(self, what: str, values: Mapping[str, Any]) -> dict[str, Any]:
        self._check_open()
        if not isinstance(values, Mapping):
            raise TypeError(
                f"{what} is {values!r} of type {type(values).__name__}; expected a dict with str keys"
            )
        bad = [key for key in values if not isinstance(key, str)]
        if bad:
            raise TypeError(f"{what} have non-string keys {bad!r}; expected a dict with str keys")
        return dict(values)

    def _call(self, action: str, call, *, check_open: bool = True) -> None:
        if self._backend is None:
            return
        try:
            call()
        except Exception as error:  # noqa: BLE001 - tracking must never stop training
            self._reason = f"W&B {action} failed: {type(error).__name__}: {error}"
            _logger.warning("%s; tracking continues in memory only", self._reason)
            self._backend = None
