"""The model registry on MLflow: versions of the trained model, aliases, downloads, and following an alias.

``registry.uri`` names the store: by default an embedded SQLite database under
``data/registry/`` (nothing to start), or an MLflow tracking server
(``http://host:5000``), with the same code. MLflow is imported only when a
registry is used, never to read a plain model folder.
"""

from captcha_solver.registry._follow import AliasFollower
from captcha_solver.registry._label import folder_label
from captcha_solver.registry._refs import ModelRef, RegistryError, is_registry_ref, model_argument, parse_ref
from captcha_solver.registry._register import register_trained, version_tags
from captcha_solver.registry._store import HISTORY_TAG, REGISTRY_HOME_ENV, Registry, VersionInfo

__all__ = [
    "HISTORY_TAG",
    "REGISTRY_HOME_ENV",
    "AliasFollower",
    "ModelRef",
    "Registry",
    "RegistryError",
    "VersionInfo",
    "folder_label",
    "is_registry_ref",
    "model_argument",
    "parse_ref",
    "register_trained",
    "version_tags",
]
