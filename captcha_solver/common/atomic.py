"""Atomic publication of files and folders.

A reader (or a crashed writer) must never see a half-written ``config.yaml``,
results file or ``model/`` folder: everything is written next to its final
place first and then swapped in with a single rename, which POSIX guarantees
to be atomic within one file system.

A folder that already exists cannot be replaced by one plain rename (POSIX
renames a folder only over an empty one). On Linux the two folders are
swapped with ``renameat2(RENAME_EXCHANGE)``, so the final path holds a
complete folder at every instant; elsewhere, or on a file system that
refuses the exchange, the old folder is renamed aside first and there is a
moment without a folder at the path, which the caller covers with a backup
it can fall back to (see :func:`replace_dir`).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import glob
import os
import shutil
import tempfile
from pathlib import Path

__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "exchange_paths",
    "folder_lock",
    "replace_dir",
    "stale_staging",
    "staging_dir",
]

#: Name parts of the folders :func:`staging_dir` and :func:`replace_dir` create next to ``final_dir``.
NEW_PREFIX = ".{name}.new-"
OLD_PREFIX = ".{name}.old-"


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


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
# errno values meaning "this kernel, libc or file system cannot exchange": the
# caller then falls back to two renames.
_NO_EXCHANGE = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EPERM}


def _renameat2():
    try:
        func = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError, TypeError):  # not Linux/glibc >= 2.28: no exchange
        return None
    func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    func.restype = ctypes.c_int
    return func


_RENAMEAT2 = _renameat2()


def exchange_paths(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Swap two existing paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``).

    Parameters
    ----------
    a, b : str or PathLike
        Two existing entries on the same file system.

    Returns
    -------
    exchanged : bool
        True if ``a`` now holds what ``b`` held and the other way round;
        False (nothing changed) if the platform or file system cannot
        exchange, in which case the caller has to use plain renames.

    Raises
    ------
    OSError
        If the exchange is supported but fails (e.g. a path is missing).
    """
    if _RENAMEAT2 is None:
        return False
    if _RENAMEAT2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in _NO_EXCHANGE:
        return False
    raise OSError(code, os.strerror(code), str(a), None, str(b))


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike):
    """Hold an exclusive advisory lock (``flock``) on ``folder`` for the ``with`` block.

    Two processes publishing next to each other in ``folder`` (or one
    cleaning leftovers there while another publishes) take turns instead of
    mistaking each other's staging folders for leftovers. No lock file is
    created: the folder itself is locked. Where ``flock`` is not available
    the block runs unlocked.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:  # pragma: no cover - e.g. a network file system without locks
            pass
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _parent(path: Path) -> Path:
    return path.parent if str(path.parent) else Path(".")


def _is_empty_dir(path: Path) -> bool:
    if not path.is_dir() or path.is_symlink():
        return False
    with os.scandir(path) as entries:
        return next(entries, None) is None


def stale_staging(final_dir: str | os.PathLike) -> list[Path]:
    """The ``.NAME.new-*`` and ``.NAME.old-*`` folders next to ``final_dir``, new ones first.

    These are the names :func:`staging_dir` and :func:`replace_dir` create;
    outside a publication (see :func:`folder_lock`) any that exist were left
    by a crash. Within each kind the most recently modified comes first.
    """
    final = Path(final_dir)
    parent = _parent(final)
    found = []
    for pattern in (NEW_PREFIX, OLD_PREFIX):
        prefix = pattern.format(name=final.name)
        entries = [p for p in parent.glob(glob.escape(prefix) + "*") if p.is_dir() and not p.is_symlink()]
        entries.sort(key=lambda p: p.stat().st_mtime, reverse=True)
        found.extend(entries)
    return found


def _reserve(parent: Path, prefix: str) -> Path:
    # mkdtemp reserves a unique name; rename needs it to be free (an empty
    # folder can be replaced by rename on POSIX, but not on every platform).
    path = Path(tempfile.mkdtemp(dir=parent, prefix=prefix))
    path.rmdir()
    return path


def _remove_dir(path: Path, parent: Path, name: str) -> None:
    # Renamed aside first: a crash halfway through rmtree leaves a leftover
    # that stale_staging() finds, never a half-deleted folder under its real name.
    aside = _reserve(parent, OLD_PREFIX.format(name=name))
    os.rename(path, aside)
    if aside.is_symlink():  # the link goes, not what it points to
        aside.unlink()
    else:
        shutil.rmtree(aside, ignore_errors=True)


def replace_dir(
    src_tmp_dir: str | os.PathLike,
    final_dir: str | os.PathLike,
    *,
    backup_dir: str | os.PathLike | None = None,
) -> Path:
    """Swap a fully written folder into place, keeping the old one as ``backup_dir`` if given.

    A missing or empty ``final_dir`` is replaced by one rename. An existing
    one is exchanged with ``src_tmp_dir`` atomically (:func:`exchange_paths`),
    so ``final_dir`` holds the complete old or the complete new folder at
    every instant; the old folder then becomes ``backup_dir`` (an earlier
    backup is removed first) or is deleted. Without the exchange, the old
    folder is renamed to ``backup_dir`` (or a hidden ``.NAME.old-*`` name)
    and ``src_tmp_dir`` to ``final_dir``: in between ``final_dir`` is
    missing, and a crash there leaves the old folder as the backup and the
    new one under its staging name (see :func:`stale_staging`).

    Parameters
    ----------
    src_tmp_dir : str or PathLike
        A complete folder, on the same file system as ``final_dir`` (create it
        with :func:`staging_dir` or next to ``final_dir``).
    final_dir : str or PathLike
        Where the folder is published, e.g. ``model/``.
    backup_dir : str or PathLike, optional
        Where the replaced folder is kept, next to ``final_dir`` (e.g.
        ``model.prev/``). Whatever is there is deleted: the caller checks
        that it is its own.

    Returns
    -------
    final_dir : Path

    Raises
    ------
    NotADirectoryError
        If ``src_tmp_dir`` is not a folder, or ``final_dir`` exists and is a file.
    OSError
        If a rename fails; when the new folder cannot be moved into place
        the old one is moved back first.
    """
    src = Path(src_tmp_dir)
    final = Path(final_dir)
    backup = Path(backup_dir) if backup_dir is not None else None
    if not src.is_dir():
        raise NotADirectoryError(f"cannot publish {src} as {final}: {src} is not a folder")
    if final.exists() and not final.is_dir():
        raise NotADirectoryError(f"cannot publish {src} as {final}: {final} exists and is not a folder")
    parent = _parent(final)

    if not final.exists() or _is_empty_dir(final):
        os.rename(src, final)  # POSIX renames a folder over an empty one atomically
        _fsync_dir(parent)
        return final

    if backup is not None and (backup.exists() or backup.is_symlink()):
        _remove_dir(backup, parent, final.name)
    if exchange_paths(src, final):
        # src now holds the old folder; final is complete throughout.
        _fsync_dir(parent)
        if backup is not None:
            os.rename(src, backup)
        else:
            _remove_dir(src, parent, final.name)
        _fsync_dir(parent)
        return final

    aside = backup if backup is not None else _reserve(parent, OLD_PREFIX.format(name=final.name))
    os.rename(final, aside)
    try:
        os.rename(src, final)
    except BaseException:
        os.rename(aside, final)
        raise
    _fsync_dir(parent)
    if backup is None:
        shutil.rmtree(aside, ignore_errors=True)
    return final


@contextlib.contextmanager
def staging_dir(final_dir: str | os.PathLike, *, backup_dir: str | os.PathLike | None = None):
    """Context manager yielding an empty folder that is published as ``final_dir`` on success.

    Write everything into the yielded folder; when the ``with`` block ends
    without an exception the folder replaces ``final_dir`` via
    :func:`replace_dir` (keeping the old one as ``backup_dir`` if given). On
    an exception it is deleted and ``final_dir`` is left untouched.

    Parameters
    ----------
    final_dir : str or PathLike
        Where the folder is published. Its parent folder is created if needed.
    backup_dir : str or PathLike, optional
        Passed to :func:`replace_dir`.

    Yields
    ------
    tmp_dir : Path
        A fresh folder ``.NAME.new-*`` next to ``final_dir`` (same file system).

    Examples
    --------
    >>> with staging_dir("model") as tmp:  # doctest: +SKIP
    ...     (tmp / "manifest.json").write_text("{}")
    """
    final = Path(final_dir)
    parent = _parent(final)
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=parent, prefix=NEW_PREFIX.format(name=final.name)))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    staged = os.stat(tmp).st_ino
    try:
        replace_dir(tmp, final, backup_dir=backup_dir)
    except BaseException:
        # Once exchanged, tmp holds the old folder (the one that was to be
        # the backup): it is left for the next run's clean-up, not deleted
        # here by an error that may be a KeyboardInterrupt.
        try:
            swapped = os.stat(final).st_ino == staged
        except OSError:
            swapped = False
        if not swapped:
            shutil.rmtree(tmp, ignore_errors=True)
        raise
