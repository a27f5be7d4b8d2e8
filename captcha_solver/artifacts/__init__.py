"""Model folder I/O: atomic publication and a checked manifest."""

from captcha_solver.artifacts._manifest import (
    FORMAT_VERSION,
    MANIFEST,
    ModelFolderError,
    dataset_hash,
    load_manifest,
    update_manifest,
    package_versions,
    save_model,
    sha256_file,
)

__all__ = [
    "FORMAT_VERSION",
    "MANIFEST",
    "ModelFolderError",
    "dataset_hash",
    "load_manifest",
    "update_manifest",
    "package_versions",
    "save_model",
    "sha256_file",
]
