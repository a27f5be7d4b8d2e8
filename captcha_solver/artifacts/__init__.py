"""Model folder I/O: atomic publication and a checked manifest."""

from captcha_solver.artifacts._contents import GLYPH_MODEL, NEURAL_META, NEURAL_MODEL, check_contents
from captcha_solver.artifacts._errors import CorruptModelError, ModelFolderError, ModelNotFoundError
from captcha_solver.artifacts._manifest import (
    FORMAT_VERSION,
    MANIFEST,
    dataset_hash,
    load_manifest,
    package_versions,
    save_model,
    sha256_file,
    update_manifest,
)

__all__ = [
    "FORMAT_VERSION",
    "GLYPH_MODEL",
    "MANIFEST",
    "NEURAL_META",
    "NEURAL_MODEL",
    "CorruptModelError",
    "ModelFolderError",
    "ModelNotFoundError",
    "check_contents",
    "dataset_hash",
    "load_manifest",
    "package_versions",
    "save_model",
    "sha256_file",
    "update_manifest",
]
