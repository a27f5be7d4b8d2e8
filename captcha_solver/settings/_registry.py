"""The ``registry`` section of the settings schema: where trained models are versioned (MLflow)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from captcha_solver.settings._checks import NonEmpty, Predicate, Range
from captcha_solver.settings._fields import Section, field

__all__ = ["RegistryConfig"]

# MLflow's own rule for registered model names is looser; this one keeps names usable in
# ``models:/NAME@alias`` references and in folder names of the download cache.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


@dataclass(frozen=True)
class RegistryConfig(Section):
    """The model registry (MLflow): every ``train`` registers a version; serving may follow an alias."""

    _section = "registry"
    uri: str = field(
        "sqlite:///data/registry/mlflow.db",
        NonEmpty(),
        doc="MLflow tracking URI of the registry: the embedded SQLite database (a relative path is relative "
        "to the working directory), or a server such as http://host:5000.",
    )
    artifacts_dir: str = field(
        "data/registry/artifacts",
        NonEmpty(),
        doc="Where model files go with a local (sqlite or file) registry; a server keeps its own.",
    )
    model_name: str = field(
        "captcha-solver",
        Predicate(lambda v: bool(_NAME.fullmatch(v)), "letters, digits, '.', '_' or '-', at most 100"),
        doc="Registered model name that train registers to and bare version numbers refer to.",
    )
    register_on_train: bool = field(True, doc="Register every trained model as a new version.")
    poll_seconds: float = field(
        10.0,
        Range(0.2, 3600),
        doc="How often the API and the UI started on an alias (models:/NAME@champion) look for a move.",
    )
    cache_dir: str = field(
        "data/registry/cache", NonEmpty(), doc="Where downloaded model versions are kept (one folder each)."
    )
