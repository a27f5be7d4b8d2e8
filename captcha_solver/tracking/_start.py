"""Starting a tracked run: offline Weights & Biases by default, a no-op run when it cannot be used."""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from captcha_solver.common import LOGGER_NAME
from captcha_solver.tracking._run import Run

__all__ = ["DEFAULT_DIR", "MODES", "start_run"]

_logger = logging.getLogger(f"{LOGGER_NAME}.tracking")

MODES = ("offline", "online", "disabled")
DEFAULT_DIR = Path("data") / "wandb"


def start_run(
    project: str,
    config: Mapping[str, Any],
    mode: str = "offline",
    dir: str | os.PathLike = DEFAULT_DIR,  # noqa: A002 - wandb.init's name
    *,
    name: str | None = None,
) -> Run:
    """Start a run tracked with Weights & Biases, offline unless told otherwise.

    Offline runs need neither an account nor a network: W&B writes the run
    into ``<dir>/wandb/offline-run-<date>_<time>-<id>/``. To upload it later
    (optional, with an account)::

        wandb sync data/wandb/wandb/offline-run-*

    ``wandb`` is imported only here, so inference never needs it. If the mode
    is ``"disabled"``, ``wandb`` is not installed, or ``wandb.init`` fails,
    the returned run is a no-op for W&B that still records everything in
    memory, and the reason is logged as a warning.

    Parameters
    ----------
    project : str
        W&B project name.
    config : Mapping
        Hyper-parameters of the run (copied).
    mode : {"offline", "online", "disabled"}, optional
        ``"offline"`` (default) writes locally; ``"online"`` streams to the
        W&B server; ``"disabled"`` tracks in memory only.
    dir : str or PathLike, optional
        Folder W&B writes under (created if missing), ``data/wandb`` by default.
    name : str, optional
        Display name of the run; W&B picks one if None.

    Returns
    -------
    Run
        Use it as a context manager, or call :meth:`Run.finish`.

    Raises
    ------
    ValueError
        If ``mode`` is not one of :data:`MODES`, or ``project`` is empty.
    TypeError
        If ``config`` is not a mapping.

    Notes
    -----
    For offline and online modes the environment variables ``WANDB_MODE``
    (set to ``mode``) and ``WANDB_SILENT`` (``true`` unless already set) are
    set for the process, so that W&B's own helpers agree with the run.
    """
    if mode not in MODES:
        raise ValueError(f"tracking mode is {mode!r}; expected one of {', '.join(MODES)}")
    if not isinstance(project, str) or not project.strip():
        raise ValueError(f"project is {project!r}; expected a non-empty string")
    if not isinstance(config, Mapping):
        raise TypeError(f"config is {config!r} of type {type(config).__name__}; expected a dict")
    if mode == "disabled":
        return Run(project, config, mode)

    os.environ["WANDB_MODE"] = mode
    os.environ.setdefault("WANDB_SILENT", "true")
    try:
        wandb = importlib.import_module("wandb")
    except ImportError as error:
        return _untracked(
            project, config, mode, f"wandb is not installed ({error}); install the 'train' extra"
        )

    dir = Path(dir)
    try:
        dir.mkdir(parents=True, exist_ok=True)
        backend = wandb.init(
            project=project,
            config=dict(config),
            mode=mode,
            dir=str(dir),
            name=name,
            # Each Run is independent; a run left open elsewhere is not finished behind its owner's back.
            reinit="create_new",
            # console="off": W&B must not wrap stdout/stderr, which the CLI and pytest own.
            settings=wandb.Settings(silent=True, console="off"),
        )
    except Exception as error:  # noqa: BLE001 - tracking must never stop training
        return _untracked(project, config, mode, f"wandb.init failed: {type(error).__name__}: {error}")
    return Run(project, config, mode, backend=backend, wandb_module=wandb)


def _untracked(project: str, config: Mapping[str, Any], mode: str, reason: str) -> Run:
    _logger.warning("tracking disabled: %s; metrics are kept in memory only", reason)
    return Run(project, config, mode, reason=reason)
