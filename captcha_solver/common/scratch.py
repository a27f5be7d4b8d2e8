"""Temporary folders that a later run can tell apart from those of a live one.

A run that is killed never cleans its temporary folder. The next run may
delete it, but only if no live process still works in it: each
:class:`ScratchDir` holds an advisory ``flock`` on itself for as long as its
process uses it, and the kernel drops that lock when the process dies, so
:func:`remove_stale_scratch` deletes exactly the folders nobody holds.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
import weakref
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: stale folders are then never removed
    fcntl = None

__all__ = ["ScratchDir", "remove_stale_scratch"]


def _open_locked(path: Path) -> int | None:
    """An fd of ``path`` holding its exclusive lock, or None if another process holds it."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def _release(path: str, fd: int | None) -> None:
    shutil.rmtree(path, ignore_errors=True)
    if fd is not None:
        os.close(fd)


class ScratchDir:
    """A temporary folder marked as in use by this process until :meth:`cleanup`.

    Works like ``tempfile.TemporaryDirectory`` (``name``, ``cleanup``, ``with``).

    Parameters
    ----------
    prefix : str
        Start of the folder's name; :func:`remove_stale_scratch` looks for it.
    root : path, optional
        Where the folder is made (default: the system's temporary folder).
    """

    def __init__(self, prefix: str, root: str | os.PathLike | None = None):
        self.name = tempfile.mkdtemp(prefix=prefix, dir=root)
        fd = None
        if fcntl is not None:
            fd = _open_locked(Path(self.name))
        # Removed (and the lock released) when cleaned up, garbage-collected or at exit.
        self._finalizer = weakref.finalize(self, _release, self.name, fd)

    @property
    def path(self) -> Path:
        """The folder, as a ``Path``."""
        return Path(self.name)

    def cleanup(self) -> None:
        """Delete the folder and release its lock."""
        self._finalizer()

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc) -> None:
        self.cleanup()


def remove_stale_scratch(prefix: str, root: str | os.PathLike | None = None) -> list[Path]:
    """Delete the folders ``<root>/<prefix>*`` of this user that no live process holds.

    Parameters
    ----------
    prefix : str
        The prefix given to :class:`ScratchDir` (only those folders are looked at).
    root : path, optional
        Where to look (default: the system's temporary folder).

    Returns
    -------
    removed : list of Path
        The folders deleted. Folders of other users, symbolic links, plain
        files and folders locked by a running process are left alone.
    """
    if fcntl is None:  # pragma: no cover - cannot tell live folders from stale ones
        return []
    folder = Path(root) if root is not None else Path(tempfile.gettempdir())
    removed = []
    for entry in sorted(folder.glob(glob.escape(prefix) + "*")):
        try:
            if entry.is_symlink() or not entry.is_dir() or entry.stat().st_uid != os.getuid():
                continue
            fd = _open_locked(entry)
        except OSError:
            continue
        if fd is None:  # a live run works in it
            continue
        try:
            shutil.rmtree(entry)
            removed.append(entry)
        except OSError:
            pass
        finally:
            os.close(fd)
    return removed
