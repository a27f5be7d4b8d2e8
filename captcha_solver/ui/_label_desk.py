"""The labelling page's work, without Gradio: a folder of unlabelled captchas read by the model, the
least sure first, and each answer saved as a copy named after its text.

Where answers go: the *labelled folder*, by default ``<folder>-labelled`` next to the captchas' folder
(or the one the user names). Each answer is a copy ``labelled/<text>.png`` in it, or
``labelled-2/<text>.png``... when the text is taken (:class:`captcha_solver.image_io.LabelShelves`, the
rule the API's feedback uses), so ``labelled/`` is a folder ``train`` reads. ``labels.json`` in it maps
each source file name to its copy, so a restart does not ask again. The source folder is only read.
"""

from __future__ import annotations

import json
import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from captcha_solver.common import atomic_write_text
from captcha_solver.image_io import (
    ImageDecodeError,
    LabelShelves,
    label_problem,
    list_dataset,
    png_bytes,
)

__all__ = ["RECORD", "LabelError", "LabelFolder", "Reading", "default_label_dir"]

#: The labelled folder's record: source file name -> copy (relative to the labelled folder).
RECORD = "labels.json"


class LabelError(ValueError):
    """A folder that cannot be labelled, or an answer that is refused (nothing was written)."""


@dataclass(frozen=True)
class Reading:
    """The model's reading of one source captcha (``error`` when it could not be read)."""

    name: str
    text: str
    confidence: float
    error: str = ""


def default_label_dir(folder: str | os.PathLike) -> Path:
    """Where answers go by default: ``<folder>-labelled`` next to ``folder`` (never inside it)."""
    folder = Path(folder).resolve()
    return folder.with_name(f"{folder.name}-labelled")


class LabelFolder:
    """One folder being labelled: its captchas, the model's readings, the answers so far.

    Parameters
    ----------
    folder : path
        The unlabelled captchas (only read; nested folders and non-images are left out).
    label_dir : path, optional
        The labelled folder (default :func:`default_label_dir`).
    solver : My_CaptchaSolver_Model
        Reads the captchas (its charset decides which answers are accepted).
    input_settings : InputConfig
        Extensions, symlinks and decode limits (``input`` settings).
    max_glyphs : int, optional
        Longest answer accepted (``segmentation.max_glyphs``).
    cache : dict, optional
        Readings kept across openings, by file, its size and time, and the model's version (so the
        same captchas are not read again when the folder is opened anew with the same model).

    Raises
    ------
    LabelError
        If the folder is missing, not a folder, not readable, holds no image, or the labelled folder
        exists as a file or is not writable (the message names the path).
    """

    def __init__(
        self, folder, label_dir=None, *, solver, input_settings, max_glyphs: int | None = None, cache=None
    ):
        self.folder = Path(folder).expanduser()
        self.label_dir = Path(label_dir).expanduser() if label_dir else default_label_dir(self.folder)
        self.solver = solver
        self.input = input_settings
        self.max_glyphs = max_glyphs
        if not self.folder.exists():
            raise LabelError(f"folder not found: {self.folder}")
        if not self.folder.is_dir():
            raise LabelError(f"{self.folder} is a file, expected a folder of captchas")
        if not os.access(self.folder, os.R_OK | os.X_OK):
            raise LabelError(f"folder {self.folder} cannot be read (permission denied)")
        try:
            images, _ = list_dataset(self.folder, input_settings)
        except (OSError, ValueError) as exc:  # EmptyDatasetError is a ValueError
            raise LabelError(f"folder {self.folder} cannot be listed: {exc}") from exc
        if not images:
            raise LabelError(f"folder {self.folder} holds no image file")
        if self.label_dir.exists() and not self.label_dir.is_dir():
            raise LabelError(f"labelled folder {self.label_dir} is a file, expected a folder")
        probe = self.label_dir if self.label_dir.is_dir() else self.label_dir.parent
        if probe.is_dir() and not os.access(probe, os.W_OK | os.X_OK):
            raise LabelError(f"labelled folder {self.label_dir} cannot be written (permission denied)")
        self.images = {p.name: p for p in images}
        self.shelves = LabelShelves(self.label_dir)
        self.done: dict[str, str] = self._read_record()
        self.skipped: set[str] = set()
        self.readings: dict[str, Reading] = {}
        self.cache = {} if cache is None else cache
        self._lock = threading.Lock()
        self._reader: threading.Thread | None = None

    # ------------------------------------------------------------ record
    @property
    def record_path(self) -> Path:
        return self.label_dir / RECORD

    def _read_record(self) -> dict[str, str]:
        """The answers saved before (a record whose copy was since removed does not count)."""
        if not self.record_path.is_file():
            return {}
        try:
            data = json.loads(self.record_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise LabelError(
                f"{self.record_path} cannot be read as JSON ({exc}); move it away to start anew"
            ) from exc
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise LabelError(
                f"{self.record_path} is not a JSON object of file names; move it away to start anew"
            )
        return {name: copy for name, copy in data.items() if (self.label_dir / copy).is_file()}

    def _write_record(self) -> None:
        atomic_write_text(self.record_path, json.dumps(self.done, indent=1, sort_keys=True) + "\n")

    # ----------------------------------------------------------- reading
    def start_reading(self) -> None:
        """Read every captcha not labelled yet with the model, in a background thread (once)."""
        with self._lock:
            if self._reader is None:
                self._reader = threading.Thread(target=self._read_all, name="label-reader", daemon=True)
                self._reader.start()

    def wait_reading(self, timeout: float | None = None) -> bool:
        """Wait for the readings (at most ``timeout`` seconds); True once all are read."""
        if self._reader is not None:
            self._reader.join(timeout)
        return self.reading_done

    @property
    def reading_done(self) -> bool:
        return self._reader is not None and not self._reader.is_alive()

    def _read_all(self) -> None:
        for name in sorted(set(self.images) - set(self.done)):
            self.readings[name] = self._read_one(name)

    def _read_one(self, name: str) -> Reading:
        path = self.images[name]
        try:
            stat = path.stat()
            key = (
                str(path.resolve()),
                stat.st_size,
                stat.st_mtime_ns,
                getattr(self.solver, "model_version", ""),
            )
        except OSError as exc:
            return Reading(name, "", 0.0, f"{path}: {exc.strerror or exc}")
        if key in self.cache:
            return self.cache[key]
        try:
            result = self.solver.read(path, name=name)
        except (ImageDecodeError, OSError, ValueError) as exc:
            return Reading(name, "", 0.0, str(exc))
        confidence = float(result.confidence)
        reading = Reading(name, result.text, confidence if math.isfinite(confidence) else 0.0)
        self.cache[key] = reading
        return reading

    # ------------------------------------------------------------- queue
    def unreadable(self) -> list[Reading]:
        """Captchas the model could not read (not offered), with the reason."""
        return [r for r in list(self.readings.values()) if r.error]

    def queue(self) -> list[Reading]:
        """The captchas still to label, least sure first (then by name), among those read so far."""
        with self._lock:
            waiting = [
                r
                for r in list(self.readings.values())
                if not r.error and r.name not in self.done and r.name not in self.skipped
            ]
        return sorted(waiting, key=lambda r: (r.confidence, r.name))

    def next(self) -> Reading | None:
        """The captcha to show now: the one the model is least sure of; None when none is left."""
        waiting = self.queue()
        return waiting[0] if waiting else None

    def pending(self, name: str) -> Reading | None:
        """The reading of captcha ``name`` if it is still to label (read, readable, not done nor skipped)."""
        reading = self.readings.get(name)
        with self._lock:
            if reading is None or reading.error or name in self.done or name in self.skipped:
                return None
        return reading

    def counts(self) -> dict[str, int]:
        """``done`` (labelled, this run or before), ``skipped``, ``unreadable``, ``left`` and ``read``/``total``."""
        with self._lock:
            done = sum(name in self.done for name in self.images)
            skipped = len(self.skipped - set(self.done))
            bad = sum(bool(r.error) for r in list(self.readings.values()))
        total = len(self.images)
        return {
            "done": done,
            "skipped": skipped,
            "unreadable": bad,
            "left": total - done - skipped - bad,
            "read": len(self.readings),
            "to_read": total - done,
            "total": total,
        }

    # ----------------------------------------------------------- answers
    def text_problem(self, text: str) -> str | None:
        """Why ``text`` cannot be saved as a captcha's label, or None."""
        if not text:
            return "the text is empty: type the captcha's text, or skip it"
        problem = label_problem(text, self.max_glyphs)
        if problem:
            return problem.replace("file name", "text")
        charset = self.solver.charset
        strange = sorted(set(text) - set(charset)) if charset else []
        if strange:
            return (
                f"text {text!r} has characters the model does not read: {''.join(strange)!r} "
                f"(its charset is {charset!r})"
            )
        return None

    def answer(self, name: str, text: str) -> Path:
        """Save a copy of captcha ``name`` as ``<text>.png`` in the labelled folder; the copy's path.

        Raises
        ------
        LabelError
            If the text is refused, the captcha is not in the folder or already labelled, or the copy
            cannot be made (nothing is then written).
        """
        text = (text or "").strip()
        problem = self.text_problem(text)
        if problem:
            raise LabelError(f"Refused: {problem}; nothing was saved")
        source = self.images.get(name)
        if source is None:
            raise LabelError(f"Refused: {name!r} is not a captcha of {self.folder}")
        with self._lock:
            if name in self.done:
                raise LabelError(f"Refused: {name} is already labelled as {self.done[name]}")
        try:
            png = png_bytes(source.read_bytes(), limits=self.input, name=str(source))
        except (ImageDecodeError, OSError) as exc:
            raise LabelError(f"Not saved: {exc}") from exc
        try:
            copy = self.shelves.save(text, png)
        except OSError as exc:
            raise LabelError(f"Not saved: cannot write into {self.label_dir}: {exc}") from exc
        with self._lock:
            self.done[name] = copy.relative_to(self.label_dir).as_posix()
            self.skipped.discard(name)
            try:
                self._write_record()
            except OSError as exc:  # the copy is made; only a restart would ask for this captcha again
                raise LabelError(
                    f"Saved {copy}, but {self.record_path} could not be written ({exc}): a restart will ask for "
                    f"{name} again"
                ) from exc
        return copy

    def skip(self, name: str) -> None:
        """Leave captcha ``name`` for now (asked again when the folder is opened anew)."""
        with self._lock:
            if name in self.images:
                self.skipped.add(name)

    def unlabelled(self) -> list[Path]:
        """The source captchas not labelled yet (skipped ones included)."""
        with self._lock:
            return [path for name, path in sorted(self.images.items()) if name not in self.done]
