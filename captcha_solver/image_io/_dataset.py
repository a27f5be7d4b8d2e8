"""Listing the image files of a dataset folder, and labels from file names."""

from __future__ import annotations

import os
import random
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from captcha_solver.image_io._decode import decode_image
from captcha_solver.image_io._errors import EmptyDatasetError, ImageDecodeError

__all__ = [
    "IMAGE_EXTENSIONS",
    "charset_of",
    "label_from_path",
    "label_problem",
    "list_dataset",
    "list_images",
    "split_dataset",
]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
#: A file-name stem is a label when it is ASCII letters or digits (case-sensitive).
_LABEL = re.compile(r"^[A-Za-z0-9]+$")


def label_problem(label: str, max_length: int | None = None) -> str | None:
    """Why a file-name stem cannot be a label, or None if it can.

    The one label policy of the project: 1 to ``max_length`` ASCII letters or
    digits, case-sensitive (the charset of a model is what its labels use,
    :func:`charset_of`).
    """
    most = f"1-{max_length}" if max_length else "1 or more"
    if not _LABEL.match(label):
        return f"file name {label!r} is not a label (expected {most} ASCII letters or digits)"
    if max_length is not None and len(label) > max_length:
        return f"label {label!r} has {len(label)} characters, over segmentation.max_glyphs = {max_length}"
    return None


def charset_of(labels: Iterable[str]) -> str:
    """The characters the labels use, sorted and case-sensitive: a model's charset."""
    return "".join(sorted(set("".join(labels))))


def list_images(
    folder: str | os.PathLike, *, extensions: Iterable[str] = IMAGE_EXTENSIONS, follow_symlinks: bool = False
) -> tuple[list[Path], list[tuple[Path, str]]]:
    """List the image candidates of a flat dataset folder, and what was rejected and why.

    Nothing is decoded here: a candidate is a regular file with an image
    extension (case-insensitive). Hidden entries (names starting with ``.``)
    are ignored silently. A symbolic link is read if it points to a file
    inside the folder; one that points outside it is rejected unless
    ``follow_symlinks`` (a dataset folder handed in must not make the
    program read, and report on, files elsewhere on the machine).

    Parameters
    ----------
    folder : str or PathLike
        The dataset folder.
    extensions : iterable of str, optional
        Accepted extensions with their dot (config ``input.extensions``).
    follow_symlinks : bool, optional
        Also read links to files outside the folder (config ``input.follow_symlinks``).

    Returns
    -------
    images : list of Path
        Candidate image files, sorted by name.
    rejected : list of (Path, str)
        Entries that are not read, sorted by name, each with the reason
        (a nested folder, an unknown extension, not a regular file, a link
        out of the folder).

    Raises
    ------
    FileNotFoundError
        If ``folder`` does not exist.
    NotADirectoryError
        If ``folder`` is a file.
    EmptyDatasetError
        If the folder has no entries, or only hidden ones.
    ValueError
        If an extension does not start with ``.``.
    """
    folder = Path(folder)
    allowed = tuple(dict.fromkeys(e.lower() for e in extensions))
    bad = [e for e in allowed if not e.startswith(".") or len(e) < 2]
    if bad or not allowed:
        raise ValueError(
            f"extensions must be non-empty and each start with '.', e.g. '.png'; got {list(extensions)}"
        )
    if not folder.exists():
        raise FileNotFoundError(f"dataset folder not found: {folder}")
    if not folder.is_dir():
        raise NotADirectoryError(f"dataset folder {folder} is a file, expected a folder of images")

    allowed_text = ", ".join(allowed)
    root = folder.resolve()
    images: list[Path] = []
    rejected: list[tuple[Path, str]] = []
    entries = sorted(folder.iterdir(), key=lambda p: p.name)
    hidden = 0
    for entry in entries:
        if entry.name.startswith("."):
            hidden += 1
            continue
        outside = None if follow_symlinks or not entry.is_symlink() else _link_outside(entry, root)
        if outside:
            rejected.append((entry, outside))
        elif entry.is_dir():
            rejected.append((entry, "is a folder; nested folders are not read"))
        elif not entry.is_file():
            rejected.append((entry, "is not a regular file (broken link or special file)"))
        elif entry.suffix.lower() in allowed:
            images.append(entry)
        elif entry.suffix:
            reason = f"extension '{entry.suffix}' is not an image extension; expected one of {allowed_text}"
            rejected.append((entry, reason))
        else:
            rejected.append((entry, f"has no extension; expected one of {allowed_text}"))

    if not images and not rejected:
        detail = f"only hidden files ({hidden})" if hidden else "no files at all"
        raise EmptyDatasetError(
            f"dataset folder {folder} is empty: {detail}; expected image files with extensions {allowed_text}"
        )
    return images, rejected


def _link_outside(link: Path, root: Path) -> str | None:
    """Why the symbolic link ``link`` is not followed, or None if it stays inside ``root``."""
    try:
        target = link.resolve(strict=True)
    except FileNotFoundError:
        return None  # broken: reported as "not a regular file" like any other
    except (OSError, RuntimeError) as exc:  # a loop (RuntimeError before Python 3.13)
        return f"is a symbolic link that cannot be resolved ({exc})"
    if target.is_relative_to(root):
        return None
    return (
        f"is a symbolic link to {target}, outside the dataset folder; not followed "
        "(set input.follow_symlinks: true to read such links)"
    )


def label_from_path(path: str | os.PathLike) -> str:
    """The label of a captcha file: its name without the extension.

    Parameters
    ----------
    path : str or PathLike
        E.g. ``"data/train/x7k2.png"``.

    Returns
    -------
    label : str
        E.g. ``"x7k2"``.

    Raises
    ------
    ValueError
        If the name has no stem (e.g. ``".png"``).
    """
    stem = Path(path).stem
    if not stem or stem.startswith("."):
        raise ValueError(f"cannot take a label from {path}: the file name has no stem")
    return stem


def split_dataset(paths: Sequence[str], fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """The one train/validation split: shuffle with ``seed`` and hold out ``fraction`` of the files.

    Every reader's training (``model.py train`` and ``python -m
    captcha_solver.training.neural``) validates on the same captchas for the
    same files, fraction and seed.

    Returns
    -------
    train, validation : list of str
        Both sorted by the shuffle; at least one validation file when ``fraction > 0``.
    """
    order = sorted(str(p) for p in paths)
    random.Random(seed).shuffle(order)
    n_val = int(round(len(order) * fraction))
    if fraction > 0:
        n_val = max(1, n_val)
    return order[n_val:], order[:n_val]


def list_dataset(folder: str | os.PathLike, input_settings) -> tuple[list[Path], list[tuple[Path, str]]]:
    """:func:`list_images` with the ``input`` settings (extensions, whether symlinks are followed)."""
    return list_images(
        folder, extensions=tuple(input_settings.extensions), follow_symlinks=input_settings.follow_symlinks
    )


def read_labelled(paths: Iterable, input_settings=None, *, skipped: list | None = None):
    """Decode labelled captcha files one by one: ``(path, label, rgb)``, leaving out those that do not decode.

    The one labelled-image reader of training and evaluation: a file that
    cannot be read never stops the caller; it is left out and, when
    ``skipped`` is given, listed there with the reason.

    Parameters
    ----------
    paths : iterable of path
        Files named ``<label>.<ext>``.
    input_settings : InputConfig, optional
        The ``input`` settings (pixel and byte limits); default: the decoder's own limits.
    skipped : list, optional
        Receives ``(path, reason)`` for every file left out.

    Yields
    ------
    path, label : str
    rgb : (H, W, 3) ndarray of uint8
    """
    for path in paths:
        try:
            rgb = decode_image(path, limits=input_settings, name=str(path))
        except (ImageDecodeError, OSError) as exc:
            if skipped is not None:
                skipped.append((str(path), str(exc)))
            continue
        yield str(path), label_from_path(path), rgb
