"""What a manifest records of where a model came from: file digests and package versions."""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform
from collections.abc import Iterable
from pathlib import Path

__all__ = ["dataset_hash", "package_versions", "sha256_file"]

_PACKAGES = (
    "numpy",
    "opencv-python-headless",
    "onnxruntime",
    "scikit-learn",
    "skl2onnx",
    "onnx",
    "catboost",
    "pillow",
)


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
