"""The site's feedback (``feedback.csv``) and the captchas it kept, for browsing and for the accept rate.

The feedback folder (``feedback.dir``) holds ``feedback.csv`` (written and read by
:mod:`captcha_solver.monitoring`) and, with ``feedback.keep_images`` on, the answered captchas in
``labelled/`` and ``unlabelled/``; a row's ``saved_as`` names its image. Only images inside the feedback folder are ever shown.
"""

from __future__ import annotations

import os
from pathlib import Path

from captcha_solver.monitoring import FEEDBACK_CSV, read_feedback
from captcha_solver.records._errors import read_record_file

__all__ = ["feedback_images", "load_feedback"]


def load_feedback(path: str | os.PathLike) -> list[dict]:
    """The rows of ``feedback.csv``, oldest first (``accepted`` a bool); none if there is no file yet.

    Raises
    ------
    RecordsError
        If the file is unreadable or not a feedback CSV (the message names the file and the line).
    """
    return read_record_file(read_feedback, path)


def _inside(folder: Path, saved_as: str) -> Path | None:
    """The image ``saved_as`` names, if it is a file inside ``folder``.

    ``saved_as`` may be relative to the feedback folder, to the working directory, or absolute.
    """
    if not saved_as:
        return None
    try:
        root = folder.resolve()
        candidates = [(folder / saved_as).resolve(), Path(saved_as).resolve()]
    except (OSError, ValueError, RuntimeError):  # a NUL byte, a symlink loop
        return None
    for target in candidates:
        # resolve() follows '..' and symlinks: an image that leads outside the folder is never shown.
        if target.is_relative_to(root) and target.is_file():
            return target
    return None


def feedback_images(folder: str | os.PathLike, *, limit: int = 60) -> list[tuple[Path, dict[str, str]]]:
    """The kept captchas with their feedback rows, newest first.

    Parameters
    ----------
    folder : path
        The feedback folder (``feedback.dir``).
    limit : int
        Most images returned.

    Returns
    -------
    images : list of (path, row)
        Each an existing image inside ``folder`` and the ``feedback.csv`` row that saved it.

    Raises
    ------
    RecordsError
        As :func:`load_feedback` for ``folder/feedback.csv``.
    """
    folder = Path(folder)
    found = []
    for row in reversed(load_feedback(folder / FEEDBACK_CSV)):
        if len(found) >= limit:
            break
        image = _inside(folder, row["saved_as"])
        if image is not None:
            found.append((image, row))
    return found
