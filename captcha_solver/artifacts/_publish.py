"""Publishing a model folder: only over a model, keeping the one it replaces, never leaving none.

Training writes into a folder the user names (``--model-dir``,
``paths.model_dir``), so the folder may hold anything. A model is published
only where there is nothing, an empty folder, or a model recognised by its
manifest (and nothing its manifest does not list); anything else is refused
before training starts, and nothing is deleted.

The folder stays a real folder (a symbolic link is followed, never replaced):
the new version is staged next to it and swapped in by
:func:`captcha_solver.common.atomic.replace_dir`, and the replaced version is kept as
``NAME.prev/``. On Linux the swap is one atomic exchange; where it is not,
there is an instant between two renames without ``NAME/``, covered by
:func:`load_model_folder` falling back to ``NAME.prev/`` and by
:func:`prepare_model_dir` putting the staged model in place on the next run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from captcha_solver.artifacts._errors import CorruptModelError, ModelFolderError
from captcha_solver.artifacts._manifest import (
    MANIFEST,
    Manifest,
    listed_artifacts,
    load_manifest,
    readers_of,
    sha256_file,
    stamped,
    write_manifest,
)
from captcha_solver.common import folder_lock, staging_dir, stale_staging

__all__ = [
    "BACKUP_SUFFIX",
    "ModelTargetError",
    "backup_dir",
    "check_model_target",
    "has_model",
    "inspect_model_folder",
    "load_model_folder",
    "prepare_model_dir",
    "save_model",
]

#: The replaced model is kept next to the folder under its name plus this suffix.
BACKUP_SUFFIX = ".prev"
# Temporary names of atomic_write_text (a crash during update_manifest leaves one): ours too.
_OWN_TEMP = re.compile(r"^\.manifest\.json\..+\.tmp$")
_ADVICE = "choose another --model-dir (paths.model_dir) or move them away"


class ModelTargetError(ModelFolderError):
    """A folder training may not publish into: it holds something other than a model."""


_PLACEHOLDERS = frozenset({".gitkeep"})


def _real(model_dir: str | os.PathLike) -> Path:
    # A symbolic link to a model folder: the folder it points to is replaced
    # (the link stays), with its staging folder and backup next to it.
    # "." and ".." get their real name, so that the backup has one too.
    path = Path(model_dir)
    return Path(os.path.realpath(path)) if path.is_symlink() or path.name in ("", "..") else path


def backup_dir(model_dir: str | os.PathLike) -> Path:
    """Where the model replaced by the last publication into ``model_dir`` is kept (``NAME.prev``).

    Raises
    ------
    ModelTargetError
        If ``model_dir`` is a file system root, which has no name to add ``.prev`` to.
    """
    real = _real(model_dir)
    if not real.name:
        raise ModelTargetError(f"{model_dir}: a model folder needs a name (not a file system root)")
    return real.with_name(real.name + BACKUP_SUFFIX)


def _backup_or_none(model_dir: str | os.PathLike) -> Path | None:
    try:
        return backup_dir(model_dir)
    except ModelTargetError:  # a file system root has no backup
        return None


def _readers_text(manifest: Mapping | None) -> str:
    readers = readers_of(manifest)
    return " and ".join(readers) + (" readers" if len(readers) > 1 else " reader") if readers else "no reader"


def _listing(entries: list[os.DirEntry], limit: int = 5) -> str:
    names = [e.name + ("/" if e.is_dir(follow_symlinks=False) else "") for e in entries]
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def inspect_model_folder(folder: str | os.PathLike) -> dict | None:
    """The manifest of the model in ``folder``, or None if there is no folder or it is empty.

    Only the folder's structure is checked (no checksums): a manifest with
    ``format_version`` and ``artifacts``, and no entry besides the manifest
    and the files it lists.

    Raises
    ------
    ModelTargetError
        If ``folder`` is a file or a symbolic link, holds no manifest, a
        manifest that is not a model's, or entries its manifest does not
        list. The message names the folder and what was found.
    """
    folder = Path(folder)
    if folder.is_symlink():
        raise ModelTargetError(f"{folder} is a symbolic link, not a model folder; {_ADVICE}")
    if not folder.exists():
        return None
    if not folder.is_dir():
        raise ModelTargetError(f"{folder} exists and is not a folder; a model is a folder")
    with os.scandir(folder) as it:
        # A placeholder that keeps the empty folder in git is not the user's data: it does not count.
        entries = sorted((e for e in it if e.name not in _PLACEHOLDERS), key=lambda e: e.name)
    if not entries:
        return None
    if not any(e.name == MANIFEST and e.is_file(follow_symlinks=False) for e in entries):
        raise ModelTargetError(
            f"{folder} is not empty and holds no model ({MANIFEST} not found): it holds {_listing(entries)}. "
            f"Training publishes only into an empty folder or one holding a model; {_ADVICE}"
        )
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelTargetError(f"{folder / MANIFEST} is not a model manifest ({exc}); {_ADVICE}") from exc
    artifacts = listed_artifacts(manifest)
    if artifacts is None:
        raise ModelTargetError(
            f"{folder / MANIFEST} is not a model manifest (no 'format_version' and 'artifacts'); "
            f"{folder} holds {_listing(entries)}; {_ADVICE}"
        )
    listed = set(artifacts) | {MANIFEST}
    foreign = [
        e
        for e in entries
        if not (e.name in listed and e.is_file(follow_symlinks=False)) and not _OWN_TEMP.match(e.name)
    ]
    if foreign:
        raise ModelTargetError(
            f"{folder} holds a model but also {_listing(foreign)}, which its {MANIFEST} does not list: "
            f"replacing the model would delete them; {_ADVICE}"
        )
    return manifest


def check_model_target(model_dir: str | os.PathLike) -> dict | None:
    """Make sure a model may be published into ``model_dir`` (and its backup name); changes nothing.

    Returns
    -------
    manifest : dict or None
        The manifest of the model that publishing would replace, None if
        there is none (no folder, or an empty one).

    Raises
    ------
    ModelTargetError
        If ``model_dir`` or ``NAME.prev`` next to it holds anything but a
        model (see :func:`inspect_model_folder`), or its parent is a file.
    """
    real = _real(model_dir)
    backup = backup_dir(model_dir)
    if real.parent.exists() and not real.parent.is_dir():
        raise ModelTargetError(f"{model_dir}: {real.parent} is a file, not a folder")
    previous = inspect_model_folder(real)
    inspect_model_folder(backup)  # replaced by the next backup: must be a model too
    return previous


def _complete_model(folder: Path) -> Manifest | None:
    try:
        if inspect_model_folder(folder) is None:
            return None
        return load_manifest(folder)
    except ModelFolderError:
        return None


def prepare_model_dir(model_dir: str | os.PathLike, *, logger=None) -> Mapping | None:
    """Check ``model_dir`` before training and tidy what an interrupted publication left.

    Call this before any training work: a folder that may not receive a
    model is refused at once and nothing is created or deleted. Otherwise
    the ``.NAME.new-*`` and ``.NAME.old-*`` folders next to it (names only
    this module creates) are dealt with: if ``model_dir`` is missing or empty
    (a crash between two renames) the newest complete staged model among them
    is put in place, and the rest are deleted.

    Returns
    -------
    manifest : Mapping or None
        The manifest of the model in ``model_dir`` (the one the next
        publication replaces: its document, or a :class:`Manifest` when a
        staged model was put in place), None if there is none.

    Raises
    ------
    ModelTargetError
        As :func:`check_model_target`.
    """
    previous = check_model_target(model_dir)
    real = _real(model_dir)
    parent = real.parent if str(real.parent) else Path(".")
    if not parent.is_dir():
        return previous
    with folder_lock(parent):  # a publication in progress holds it: its staging folder is not a leftover
        leftovers = stale_staging(real)
        if previous is None:
            for candidate in leftovers:
                manifest = _complete_model(candidate)
                if manifest is not None:
                    os.rename(candidate, real)
                    leftovers.remove(candidate)
                    previous = manifest
                    if logger:
                        logger.warning(
                            "%s was missing: put in place the complete model an interrupted publication left in %s",
                            model_dir,
                            candidate.name,
                        )
                    break
        for leftover in leftovers:
            shutil.rmtree(leftover, ignore_errors=True)
            if logger:
                logger.info("removed %s, left next to %s by an interrupted publication", leftover, model_dir)
    return previous


def save_model(
    model_dir: str | Path, files: dict[str, Path], manifest: Manifest | Mapping, *, logger=None, verify=None
) -> Path:
    """Publish ``files`` (artifact name -> temporary path) and the manifest atomically.

    ``manifest`` is a :class:`Manifest` (a model's, checked) or the entries of
    one; either way its artifacts are the digests of ``files``, its format
    version the current one, and ``created`` now unless it records a time.

    Everything is written (and synced) into a staging folder next to
    ``model_dir``, which is then swapped in; the model it replaces is kept as
    ``NAME.prev/``. The folder is checked again first (it may have changed
    while training ran).

    Parameters
    ----------
    verify : callable, optional
        Called with the staged folder, complete as it will go live, before
        the swap: it may load and test the model there and return manifest
        entries to add (written before the swap), or raise to stop the
        publication (the live model is then untouched and the staging removed).

    Raises
    ------
    ModelTargetError
        If ``model_dir`` holds anything but a model (nothing is then written).
    """
    real = _real(model_dir)
    parent = real.parent if str(real.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    with folder_lock(parent):
        previous = check_model_target(model_dir)
        with staging_dir(real, backup_dir=backup_dir(model_dir)) as tmp:
            # mkdtemp makes the folder owner-only; a model is read by other users too (the service account).
            tmp.chmod(0o755)
            digests = {}
            for name, src in files.items():
                shutil.copyfile(src, tmp / name)
                with open(tmp / name, "rb+") as fh:  # on disk before the rename makes it the model
                    os.fsync(fh.fileno())
                digests[name] = sha256_file(tmp / name)
            full = stamped(manifest, digests, datetime.now(UTC).isoformat(timespec="seconds"))
            write_manifest(tmp, full)
            changes = verify(tmp) if verify is not None else None
            if changes:
                full.update(changes)
                write_manifest(tmp, full)
    if logger:
        _log_publication(logger, model_dir, full, previous)
    return Path(model_dir)


def _log_publication(logger, model_dir, manifest: Mapping, previous: Mapping | None) -> None:
    if previous is None:
        logger.info("published %s: it holds the %s", model_dir, _readers_text(manifest))
        return
    logger.info(
        "published %s: it holds the %s; the model it replaced held the %s and is kept in %s",
        model_dir,
        _readers_text(manifest),
        _readers_text(previous),
        backup_dir(model_dir),
    )
    dropped = [r for r in readers_of(previous) if r not in readers_of(manifest)]
    if dropped:
        logger.warning(
            "the new model in %s has no %s reader, which the replaced one had; that one stays in %s until "
            "the next training replaces it (train with --reader auto to have both)",
            model_dir,
            " or ".join(dropped),
            backup_dir(model_dir),
        )


def has_model(model_dir: str | os.PathLike) -> bool:
    """Whether ``model_dir`` or its backup ``NAME.prev`` has a manifest (see :func:`load_model_folder`)."""
    backup = _backup_or_none(model_dir)
    return (Path(model_dir) / MANIFEST).is_file() or (backup is not None and (backup / MANIFEST).is_file())


def load_model_folder(model_dir: str | os.PathLike, *, logger=None) -> tuple[Path, Manifest]:
    """Read and check the model in ``model_dir``, or else the one it replaced (``NAME.prev``).

    Returns
    -------
    folder : Path
        The folder the model was read from: ``model_dir``, or its backup with
        a logged warning when ``model_dir`` is missing or fails its checks
        (e.g. a crash between the two renames of a publication).
    manifest : Manifest
        Its checked manifest (see :func:`load_manifest`).

    Raises
    ------
    ModelFolderError
        If neither folder holds a usable model; the message says why for both.
    """
    model_dir = Path(model_dir)
    try:
        return model_dir, load_manifest(model_dir)
    except ModelFolderError as exc:
        backup = _backup_or_none(model_dir)
        if backup is None or not (backup / MANIFEST).is_file():
            raise
        try:
            manifest = load_manifest(backup)
        except ModelFolderError as backup_exc:
            detail = f"the previous model in {backup} is not usable either: {backup_exc}"
            if isinstance(exc, CorruptModelError):
                raise CorruptModelError(exc.model_dir, f"{exc.problem}; {detail}") from exc
            raise type(exc)(f"{exc}; {detail}") from exc  # not found: it keeps its kind (train first)
        if logger:
            logger.warning("%s; loading the previous model from %s instead", exc, backup)
        return backup, manifest
