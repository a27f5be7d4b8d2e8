"""The one temporary folder the UI owns: example captchas, extracted batches, downloads, gallery copies.

It is a :class:`common.ScratchDir` (removed at exit; a UI that was killed leaves one that the next UI
start removes), so the UI never writes into the user's folders. Downloads and batches each get a fresh
sub-folder; only the newest few of each kind are kept, since Gradio serves its own copy of a download.
"""

from __future__ import annotations

import shutil
import threading
import uuid
from pathlib import Path

from captcha_solver.common import ScratchDir, remove_stale_scratch

__all__ = ["SCRATCH_PREFIX", "UiFiles"]

SCRATCH_PREFIX = "captcha-ui-"


class UiFiles:
    """The UI's temporary folder and its sub-folders.

    Parameters
    ----------
    keep : int
        Sub-folders of one kind kept; making one more removes the oldest.
    root : path, optional
        Where the folder is made (default: the system's temporary folder, which Gradio may serve from).
    """

    def __init__(self, keep: int = 8, root: str | Path | None = None):
        remove_stale_scratch(SCRATCH_PREFIX, root)
        self._scratch = ScratchDir(SCRATCH_PREFIX, root)
        self.keep = keep
        self._made: dict[str, list[Path]] = {}
        self._lock = threading.Lock()  # Gradio runs handlers in threads

    @property
    def path(self) -> Path:
        return self._scratch.path

    def folder(self, kind: str) -> Path:
        """A new, empty sub-folder ``<kind>-<random>``; the oldest of that kind beyond ``keep`` are removed."""
        path = self.path / f"{kind}-{uuid.uuid4().hex[:12]}"
        path.mkdir()
        with self._lock:
            made = self._made.setdefault(kind, [])
            made.append(path)
            old, made[:] = made[: -self.keep], made[-self.keep :]
        for folder in old:
            shutil.rmtree(folder, ignore_errors=True)
        return path

    def cleanup(self) -> None:
        """Remove the whole folder."""
        self._scratch.cleanup()
