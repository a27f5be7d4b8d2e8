"""Generated captchas split into a labelled folder and an unlabelled one (names without their labels)."""

from __future__ import annotations

import shutil
from pathlib import Path


def labelled_and_unlabelled(
    captcha_dir: Path, root: Path, labelled: int, unlabelled: int
) -> tuple[Path, Path, dict[str, str]]:
    """The first ``labelled`` captchas copied to ``root/labelled``, the next ``unlabelled`` to
    ``root/unlabelled`` as ``u000.png``...; returns both folders and each unlabelled name's true text."""
    folders = root / "labelled", root / "unlabelled"
    for folder in folders:
        folder.mkdir()
    files = sorted(captcha_dir.glob("*.png"))
    for path in files[:labelled]:
        shutil.copy(path, folders[0] / path.name)
    truth = {}
    for i, path in enumerate(files[labelled : labelled + unlabelled]):
        shutil.copy(path, folders[1] / f"u{i:03d}.png")
        truth[f"u{i:03d}.png"] = path.stem
    return *folders, truth
