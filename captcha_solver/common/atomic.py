"""Atomic publication of files and folders.

A reader (or a crashed writer) must never see a half-written ``config.yaml``,
results file or ``model/`` folder: everything is written next to its final
place first and then swapped in with a single rename, which POSIX guarantees
to be atomic within one file system.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["atomic_write_bytes", "atomic_write_text", "replace_dir", "staging_dir"]


def _fsync_dir(folder: Path) -> None:
    # The rename itself lives in the directory entry; without this fsync a
    # power loss can undo it even though the file data reached the disk.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. platforms without O_RDONLY dirs
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse dir fsync
        pass
    finally:
        os.close(fd)


def _target_mode(path: Path) -> int:
    # mkstemp creates 0600 files; keep the mode of the file being replaced, or
    # use the mode a plain open() would have given under the current umask.
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` so that readers see the old or the new file, never a mix.

    Parameters
    ----------
    path : str or PathLike
        Destination file. Its folder must exist.
    data : bytes
        The complete new content.

    Returns
    -------
    path : Path
        The destination, as a ``Path``.

    Raises
    ------
    FileNotFoundError
        If the destination folder does not exist.
    OSError
        If writing or renaming fails; the previous file is then left intact
        and the temporary file is removed.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot write {path}: folder {folder} does not exist")
    # The temporary file sits in the same folder so that os.replace is a
    # rename within one file system (atomic), not a copy.
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, _target_mode(path))
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    _fsync_dir(folder)
    return path


def atomic_write_text(path: str | os.PathLike, text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write_bytes`).

    Parameters
    ----------
    path : str or PathLike
        Destination file. Its folder must exist.
    text : str
        The complete new content; written with ``encoding`` and without
        newline translation.
    encoding : str, optional
        Text encoding, UTF-8 by default.

    Returns
    -------
    path : Path
        The destination, as a ``Path``.
    """
    return atomic_write_bytes(path, text.encode(encoding))


def replace_dir(src_tmp_dir: str | os.PathLike, final_dir: str | os.PathLike) -> Path:
    """Swap a fully written folder into place.

    The old ``final_dir`` (if any) is renamed to a hidden backup, ``src_tmp_dir``
    is renamed to ``final_dir`` and only then is the backup deleted. If the
    second rename fails the backup is renamed back, so ``final_dir`` always
    holds either the complete old or the complete new content.

    Parameters
    ----------
    src_tmp_dir : str or PathLike
        A complete folder, on the same file system as ``final_dir`` (create it
        with :func:`staging_dir` or next to ``final_dir``).
    final_dir : str or PathLike
        Where the folder is published, e.g. ``model/``.

    Returns
    -------
    final_dir : Path

    Raises
    ------
    NotADirectoryError
        If ``src_tmp_dir`` is not a folder, or ``final_dir`` exists and is a file.
    OSError
        If a rename fails; the old ``final_dir`` is restored first.
    """
    src = Path(src_tmp_dir)
    final = Path(final_dir)
    if not src.is_dir():
        raise NotADirectoryError(f"cannot publish {src} as {final}: {src} is not a folder")
    if final.exists() and not final.is_dir():
        raise NotADirectoryError(f"cannot publish {src} as {final}: {final} exists and is not a folder")
    parent = final.parent if str(final.parent) else Path(".")

    if not final.exists():
        os.rename(src, final)
        _fsync_dir(parent)
        return final

    backup = Path(tempfile.mkdtemp(dir=parent, prefix=f".{final.name}.old-"))
    # mkdtemp reserved a unique name; rename needs it to be free (an empty
    # folder can be replaced by rename on POSIX, but not on every platform).
    backup.rmdir()
    os.rename(final, backup)
    try:
        os.rename(src, final)
    except BaseException:
        os.rename(backup, final)
        raise
    _fsync_dir(parent)
    shutil.rmtree(backup, ignore_errors=True)
    return final


@contextlib.contextmanager
def staging_dir(final_dir: str | os.PathLike):
    """Context manager yielding an empty folder that is published as ``final_dir`` on success.

    Write everything into the yielded folder; when the ``with`` block ends
    without an exception the folder replaces ``final_dir`` via
    :func:`replace_dir`. On an exception it is deleted and ``final_dir`` is
    left untouched.

    Parameters
    ----------
    final_dir : str or PathLike
        Where the folder is published. Its parent folder is created if needed.

    Yields
    ------
    tmp_dir : Path
        A fresh folder next to ``final_dir`` (same file system).

    Examples
    --------
    >>> with staging_dir("model") as tmp:  # doctest: +SKIP
    ...     (tmp / "manifest.json").write_text("{}")
    """
    final = Path(final_dir)
    parent = final.parent if str(final.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=parent, prefix=f".{final.name}.new-"))
    try:
        yield tmp
        replace_dir(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
