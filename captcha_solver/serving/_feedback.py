"""Feedback from the site: answers waiting for their verdict, and what a verdict leaves on disk.

:class:`PendingAnswers` remembers each answer by its ``request_id`` until its
feedback comes (bounded in count, age and, for kept captchas, bytes). It is
used only from the event loop (the routes' async code), so it needs no lock:
feedback never waits on a lock a read holds. :class:`FeedbackStore` writes the
verdict (``feedback.csv``) and the kept captcha, in a worker thread.
"""

from __future__ import annotations

import base64
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from captcha_solver.image_io import LabelShelves, label_problem, png_bytes, write_new_file
from captcha_solver.monitoring import FEEDBACK_CSV, FeedbackLog
from captcha_solver.settings import FeedbackConfig

__all__ = ["FeedbackStore", "Pending", "PendingAnswers", "new_request_id"]


def new_request_id() -> str:
    """A fresh answer id: 32 hex digits (random, so ids cannot be guessed or collide across replicas)."""
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Pending:
    """An answer waiting for feedback: who read it, what it said, and (``keep_images``) the upload."""

    model_version: str
    prediction: str
    charset: str
    lengths: frozenset
    created: float
    payload: bytes | str | None = None

    @property
    def size(self) -> int:
        return len(self.payload) if self.payload is not None else 0

    def text_problem(self, text: str) -> str | None:
        """Why ``text`` cannot be the true text of this captcha for the model that read it, or None."""
        problem = label_problem(text)
        if problem:
            return problem.replace("file name", "text")
        strange = sorted(set(text) - set(self.charset))
        if strange:
            return f"text {text!r} has characters the model does not read: {''.join(strange)!r} (charset {self.charset!r})"
        if self.lengths and len(text) not in self.lengths:
            return f"text {text!r} has {len(text)} characters; the model reads texts of {sorted(self.lengths)} characters"
        return None


class PendingAnswers:
    """Answers by ``request_id`` until their feedback, then ids that got theirs (to answer 409 to a repeat).

    Bounded: at most ``max_pending`` of each, none older than ``pending_ttl_s``, and kept uploads
    within ``max_pending_mb`` (the oldest upload is dropped first; its verdict still counts).
    Event-loop only (not thread-safe, on purpose: see the module).
    """

    def __init__(self, settings: FeedbackConfig, clock=time.monotonic):
        self.settings = settings
        self.clock = clock
        self._pending: OrderedDict[str, Pending] = OrderedDict()
        self._done: OrderedDict[str, float] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._pending)

    @property
    def kept_bytes(self) -> int:
        return self._bytes

    def _expire(self, now: float) -> None:
        ttl, most = self.settings.pending_ttl_s, self.settings.max_pending
        while self._pending:
            rid, first = next(iter(self._pending.items()))
            if now - first.created <= ttl and len(self._pending) <= most:
                break
            self._bytes -= self._pending.pop(rid).size
        while self._done and (now - next(iter(self._done.values())) > ttl or len(self._done) > most):
            self._done.popitem(last=False)

    def add(self, request_id: str, pending: Pending) -> None:
        """Remember an answer (its upload too, if it has one and the memory bound allows)."""
        if pending.size > self.settings.max_pending_mb * 1024 * 1024:
            pending = _without_payload(pending)
        self._pending[request_id] = pending
        self._bytes += pending.size
        limit = self.settings.max_pending_mb * 1024 * 1024
        for rid in self._pending:  # oldest first; stops as soon as the kept bytes fit
            if self._bytes <= limit:
                break
            old = self._pending[rid]
            if old.payload is not None:
                self._bytes -= old.size
                self._pending[rid] = _without_payload(old)
        self._expire(self.clock())

    def lookup(self, request_id: str) -> tuple[str, Pending | None]:
        """``("pending", answer)``, ``("done", None)`` (feedback already given) or ``("unknown", None)``."""
        self._expire(self.clock())
        if request_id in self._done:
            return "done", None
        found = self._pending.get(request_id)
        return ("pending", found) if found is not None else ("unknown", None)

    def claim(self, request_id: str) -> Pending:
        """Take an answer out for its feedback (after :meth:`lookup` said pending)."""
        pending = self._pending.pop(request_id)
        self._bytes -= pending.size
        self._done[request_id] = self.clock()
        return pending

    def restore(self, request_id: str, pending: Pending) -> None:
        """Put a claimed answer back (its feedback could not be saved: the client may send it again)."""
        self._done.pop(request_id, None)
        self._pending[request_id] = pending
        self._bytes += pending.size


def _without_payload(pending: Pending) -> Pending:
    return Pending(
        pending.model_version, pending.prediction, pending.charset, pending.lengths, pending.created, None
    )


class FeedbackStore:
    """Where verdicts go: ``feedback.csv`` and, for kept uploads, ``labelled*/`` and ``unlabelled/``.

    A labelled captcha is saved as ``labelled/<text>.png``, or ``labelled-2/<text>.png``... when the
    text is taken: the project's one naming rule (:class:`captcha_solver.image_io.LabelShelves`, which
    the UI's labelling page uses too). A rejected captcha without a text goes to
    ``unlabelled/<request_id>.png``. Files are written under a hidden temporary name and linked into
    place (never overwriting); methods are thread-safe.
    """

    def __init__(self, settings: FeedbackConfig, input_limits=None):
        self.root = Path(settings.dir)
        self.log = FeedbackLog(self.root / FEEDBACK_CSV)
        self.limits = input_limits
        self.shelves = LabelShelves(self.root)
        self._lock = threading.Lock()

    def png(self, payload: bytes | str, name: str) -> bytes:
        """The upload as PNG bytes (a PNG as it came; any other format decoded and encoded losslessly)."""
        data = (
            base64.b64decode(payload.partition(",")[2] if payload.startswith("data:") else payload)
            if isinstance(payload, str)
            else payload
        )
        return png_bytes(data, limits=self.limits, name=name)

    def save_image(self, png: bytes, text: str | None, request_id: str) -> str:
        """Save a kept captcha; its path relative to the feedback folder."""
        if text:
            return str(self.shelves.save(text, png).relative_to(self.root))
        with self._lock:
            folder = self.root / "unlabelled"
            folder.mkdir(parents=True, exist_ok=True)
            write_new_file(folder / f"{request_id}.png", png)
            return str((folder / f"{request_id}.png").relative_to(self.root))

    def record(self, row: dict) -> None:
        """Append the verdict's row to ``feedback.csv``."""
        self.log.append(row)
