"""The version label of a model read from a plain folder."""

from __future__ import annotations

from pathlib import Path

from captcha_solver.artifacts import MANIFEST, sha256_file

__all__ = ["folder_label"]


def folder_label(folder: str | Path) -> str:
    """``folder:<first 12 hex of the manifest's sha256>``: stable for the same model wherever it lies."""
    return f"folder:{sha256_file(Path(folder) / MANIFEST)[:12]}"
