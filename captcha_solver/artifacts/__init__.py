"""Model folder I/O: atomic publication with a backup, and a checked manifest."""

from captcha_solver.artifacts._contents import GLYPH_MODEL, NEURAL_META, NEURAL_MODEL, check_contents
from captcha_solver.artifacts._errors import CorruptModelError, ModelFolderError, ModelNotFoundError
from captcha_solver.artifacts._manifest import (
    FORMAT_VERSION,
    MANIFEST,
    dataset_hash,
    load_manifest,
    package_versions,
    sha256_file,
    update_manifest,
    write_manifest,
)
from captcha_solver.artifacts._publish import (
    BACKUP_SUFFIX,
    READER_ARTIFACTS,
    ModelTargetError,
    backup_dir,
    check_model_target,
    has_model,
    inspect_model_folder,
    load_model_folder,
    prepare_model_dir,
    readers_of,
    save_model,
)

__all__ = [
    "BACKUP_SUFFIX",
    "FORMAT_VERSION",
    "GLYPH_MODEL",
    "MANIFEST",
    "NEURAL_META",
    "NEURAL_MODEL",
    "READER_ARTIFACTS",
    "CorruptModelError",
    "ModelFolderError",
    "ModelNotFoundError",
    "ModelTargetError",
    "backup_dir",
    "check_contents",
    "check_model_target",
    "dataset_hash",
    "has_model",
    "inspect_model_folder",
    "load_manifest",
    "load_model_folder",
    "package_versions",
    "prepare_model_dir",
    "readers_of",
    "save_model",
    "sha256_file",
    "update_manifest",
    "write_manifest",
]
