"""Saving labelled captchas under the name their label is read from: ``<root>/labelled[-N]/<text>.png``.

The one naming rule for a captcha someone labelled (the API's feedback, the UI's labelling page).
The label is the file's stem (:func:`label_from_path`), so two captchas with the same text cannot
share a folder: the first goes to ``labelled/<text>.png``, the next to ``labelled-2/<text>.png``,
then ``labelled-3/``..., so that both are kept, each under a name ``train`` reads as its text, and
each shelf is a flat folder ``train`` reads. A name is taken in any letter case (file systems that
ignore case would otherwise overwrite). Files are written under a hidden temporary name and linked
into place, so a name is never replaced, even by another process writing to the same folder.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from pathlib import Path

import cv2

from captcha_solver.image_io._decode import decode_image

__all__ = ["PNG_MAGIC", "LabelShelves", "png_bytes", "shelf_name", "write_new_file"]

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def shelf_name(n: int) -> str:
    """The ``n``-th shelf's folder name: ``labelled``, ``labelled-2``, ``labelled-3``..."""
    return "labelled" if n == 1 else f"labelled-{n}"


def write_new_file(path: Path, data: bytes) -> None:
    """Write a new file atomically; ``FileExistsError`` if ``path`` exists (it is never replaced)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.link(tmp, path)  # fails if the name exists: what was there stays
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def png_bytes(data: bytes, *, limits=None, name: str = "<bytes>") -> bytes:
    """A captcha file's bytes as PNG: a PNG as it is, any other format decoded and encoded losslessly.

    Raises
    ------
    ImageDecodeError
        If ``data`` is not an image the decoder reads within ``limits`` (the message names ``name``).
    OSError
        If OpenCV cannot encode it.
    """
    if data.startswith(PNG_MAGIC):
        return bytes(data)
    rgb = decode_image(data, limits=limits, name=name)
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise OSError(f"{name}: the captcha could not be encoded as PNG")
    return encoded.tobytes()


class LabelShelves:
    """The ``labelled[-N]`` folders under ``root``, and which names each holds (thread-safe).

    Parameters
    ----------
    root : path
        The folder holding the shelves (created on the first save).
    """

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        #: Names (lower case) each shelf holds, listed once per shelf and then kept up to date.
        self.taken: dict[Path, set[str]] = {}
        self._lock = threading.Lock()

    def shelves(self) -> list[Path]:
        """The shelves that exist, in order (``labelled``, ``labelled-2``, ...; stops at the first gap)."""
        found, n = [], 1
        while (self.root / shelf_name(n)).is_dir():
            found.append(self.root / shelf_name(n))
            n += 1
        return found

    def _shelf(self, text: str) -> Path:
        """The first shelf where ``<text>.*`` is free (any case); reserves the name. Under the lock."""
        n = 1
        while True:
            folder = self.root / shelf_name(n)
            taken = self.taken.get(folder)
            if taken is None:
                taken = {p.stem.lower() for p in folder.glob("*")} if folder.is_dir() else set()
                self.taken[folder] = taken
            if text.lower() not in taken:
                taken.add(text.lower())
                return folder
            n += 1

    def save(self, text: str, png: bytes) -> Path:
        """Save ``png`` as ``<text>.png`` on the first shelf where the name is free; its path.

        ``text`` must already be a valid label (:func:`label_problem`): it becomes a file name.
        """
        with self._lock:
            while True:
                folder = self._shelf(text)
                folder.mkdir(parents=True, exist_ok=True)
                try:
                    write_new_file(folder / f"{text}.png", png)
                    return folder / f"{text}.png"
                except FileExistsError:  # another process took it: that shelf is listed again
                    self.taken.pop(folder, None)
