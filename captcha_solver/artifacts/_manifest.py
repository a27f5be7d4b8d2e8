"""The model folder: ONNX files plus a manifest that makes it self-sufficient.

``manifest.json`` records everything inference needs (charset, segmentation,
feature and decoding settings, which class each output column is) and how
the model came to be (metrics, training-data hash, package versions). The
sha256 of every artifact is checked at load, so a corrupted or swapped file
is refused instead of silently predicting nonsense.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

from captcha_solver.common import atomic_write_text, staging_dir

__all__ = ["MANIFEST", "FORMAT_VERSION", "ModelFolderError", "save_model", "load_manifest", "sha256_file", "dataset_hash", "package_versions"]

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
_PACKAGES = ("numpy", "opencv-python-headless", "onnxruntime", "scikit-learn", "skl2onnx", "onnx", "catboost", "pillow")


class ModelFolderError(ValueError):
    """The model folder is missing, incomplete or does not match its manifest."""


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def dataset_hash(paths: Iterable[str | Path]) -> str:
    """One sha256 over the names and bytes of the training files (order-free)."""
    digest = hashlib.sha256()
    for path in sorted(str(p) for p in paths):
        digest.update(Path(path).name.encode())
        digest.update(sha256_file(path).encode())
    return digest.hexdigest()


def package_versions() -> dict[str, str]:
    """Versions of Python and of the packages that shape the model."""
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def save_model(model_dir: str | Path, files: dict[str, Path], manifest: dict) -> Path:
    """Publish ``files`` (artifact name -> temporary path) and the manifest atomically.

    Everything is written into a staging folder next to ``model_dir`` which
    then replaces it in one rename: a crash leaves the old model whole.
    """
    model_dir = Path(model_dir)
    with staging_dir(model_dir) as tmp:
        # mkdtemp makes the folder owner-only; a model is read by other users too (the service account).
        tmp.chmod(0o755)
        digests = {}
        for name, src in files.items():
            shutil.copyfile(src, tmp / name)
            digests[name] = sha256_file(tmp / name)
        full = dict(manifest, format_version=FORMAT_VERSION, artifacts=digests)
        full.setdefault("created", datetime.now(timezone.utc).isoformat(timespec="seconds"))
        atomic_write_text(tmp / MANIFEST, json.dumps(full, indent=2, sort_keys=True) + "\n")
    return model_dir


def update_manifest(model_dir: str | Path, changes: dict) -> dict:
    """Merge top-level ``changes`` into a checked model folder's manifest, atomically.

    The artifacts are not touched (their digests still hold); only
    ``manifest.json`` is replaced, in one rename.

    Raises
    ------
    ModelFolderError
        As :func:`load_manifest`, and if ``changes`` tries to rewrite the
        artifact digests or the format version.
    """
    protected = {"artifacts", "format_version"} & set(changes)
    if protected:
        raise ModelFolderError(f"update_manifest cannot change {sorted(protected)}; retrain instead")
    manifest = dict(load_manifest(model_dir), **changes)
    atomic_write_text(Path(model_dir) / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def load_manifest(model_dir: str | Path) -> dict:
    """Read and check a model folder's manifest.

    Raises
    ------
    ModelFolderError
        If the folder or manifest is missing or unreadable, the format is
        newer than this code, or an artifact is missing or its sha256 differs.
    """
    model_dir = Path(model_dir)
    path = model_dir / MANIFEST
    if not path.is_file():
        raise ModelFolderError(
            f"no trained model in {model_dir}: {MANIFEST} not found. "
            f"Run 'python model.py train --dataset DIR' or pass --model-dir with a trained model."
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelFolderError(f"{path}: unreadable manifest ({exc})") from exc
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFolderError(f"{path}: format_version {version!r}, this solver reads version {FORMAT_VERSION}")
    for name, expected in manifest.get("artifacts", {}).items():
        artifact = model_dir / name
        if not artifact.is_file():
            raise ModelFolderError(f"{artifact}: listed in {MANIFEST} but missing")
        actual = sha256_file(artifact)
        if actual != expected:
            raise ModelFolderError(
                f"{artifact}: sha256 {actual[:12]}... does not match the manifest's {expected[:12]}...; "
                f"the file changed after training. Retrain or restore the model folder."
            )
    return manifest
