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
from collections.abc import Iterable
from pathlib import Path

from captcha_solver.artifacts._contents import check_contents, json_kind
from captcha_solver.artifacts._errors import CorruptModelError, ModelFolderError, ModelNotFoundError
from captcha_solver.common import atomic_write_text

__all__ = [
    "MANIFEST",
    "FORMAT_VERSION",
    "write_manifest",
    "load_manifest",
    "update_manifest",
    "sha256_file",
    "dataset_hash",
    "package_versions",
]

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
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


def write_manifest(model_dir: str | Path, manifest: dict) -> Path:
    """Write ``manifest.json`` into ``model_dir`` atomically (sorted keys, indented)."""
    return atomic_write_text(
        Path(model_dir) / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    )


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
    write_manifest(model_dir, manifest)
    return manifest


def load_manifest(model_dir: str | Path) -> dict:
    """Read and check a model folder's manifest.

    Raises
    ------
    ModelNotFoundError
        If the folder or its manifest does not exist (nothing trained there).
    CorruptModelError
        If the manifest is not a JSON object, lacks a key or holds the wrong
        kind of value, or an artifact is missing or its sha256 differs.
    ModelFolderError
        If the format is newer than this code.
    """
    model_dir = Path(model_dir)
    path = model_dir / MANIFEST
    if not path.exists():
        raise ModelNotFoundError(
            f"no trained model in {model_dir}: {MANIFEST} not found. "
            f"Run 'python model.py train --dataset DIR' or pass --model-dir with a trained model."
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # a folder named manifest.json, bad UTF-8, bad JSON
        raise CorruptModelError(model_dir, f"unreadable {MANIFEST} ({exc})") from exc
    if not isinstance(manifest, dict):
        raise CorruptModelError(
            model_dir,
            f"{MANIFEST} holds {json_kind(manifest)}, expected an object with format_version, artifacts, ...",
        )
    if "format_version" not in manifest:
        raise CorruptModelError(model_dir, f"{MANIFEST} lacks the key 'format_version'")
    version = manifest["format_version"]
    if version != FORMAT_VERSION:
        raise ModelFolderError(
            f"{path}: format_version {version!r}, this solver reads version {FORMAT_VERSION}"
        )
    _check_artifacts(manifest, model_dir)
    check_contents(manifest, model_dir)
    return manifest


def _check_artifacts(manifest: dict, model_dir: Path) -> None:
    """Every listed artifact is a file of the folder with the recorded sha256."""
    artifacts = manifest.get("artifacts")
    if not isinstance(artifacts, dict):
        found = (
            f"key 'artifacts' is {json_kind(artifacts)}"
            if "artifacts" in manifest
            else "lacks the key 'artifacts'"
        )
        raise CorruptModelError(model_dir, f"{MANIFEST} {found}, expected an object of file name -> sha256")
    for name, expected in artifacts.items():
        # A name such as "../x" would make the check (and the readers) open files outside the folder.
        if Path(name).name != name or name in ("", ".", ".."):
            raise CorruptModelError(
                model_dir, f"{MANIFEST} lists artifact {name!r}, which is not a file name"
            )
        if not isinstance(expected, str):
            raise CorruptModelError(
                model_dir,
                f"{MANIFEST} records {json_kind(expected)} as the sha256 of {name}, expected a hex string",
            )
        artifact = model_dir / name
        if not artifact.is_file():
            raise CorruptModelError(model_dir, f"{artifact}: listed in {MANIFEST} but missing")
        actual = sha256_file(artifact)
        if actual != expected:
            raise CorruptModelError(
                model_dir,
                f"{artifact}: sha256 {actual[:12]}... does not match the manifest's {expected[:12]}...; "
                f"the file changed after training. Retrain or restore the model folder.",
            )
