"""Which config.yaml the server and the UI use, and where the UI saves edits."""

from __future__ import annotations

import os
from pathlib import Path

from settings import Config, default_config_path, load_config

__all__ = ["CONFIG_ENV", "resolve_config"]

#: Points the API and UI at a config.yaml, e.g. one on the container's shared data volume.
CONFIG_ENV = "CAPTCHA_SOLVER_CONFIG"


def resolve_config(explicit: str | Path | None = None, overrides: dict | None = None) -> tuple[Config, Path]:
    """Load the settings and name the file that edits are saved to.

    Parameters
    ----------
    explicit : path, optional
        ``--config`` from the command line; it wins.
    overrides : dict, optional
        Dotted keys from ``--set``.

    Returns
    -------
    config : Config
    path : Path
        ``explicit``, else ``$CAPTCHA_SOLVER_CONFIG``, else ``./config.yaml``.
        The file may not exist yet (the defaults are used and the first
        save creates it).

    Raises
    ------
    settings.ConfigError
        If the file is invalid.
    """
    if explicit:
        path = Path(explicit)
    elif os.environ.get(CONFIG_ENV):
        path = Path(os.environ[CONFIG_ENV])
    else:
        path = Path.cwd() / "config.yaml"
    # An explicit path must exist; the environment's or ./config.yaml may not yet.
    source = path if explicit or path.is_file() else default_config_path()
    return load_config(source, overrides), path
