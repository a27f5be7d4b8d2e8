"""The last N answers of a model, thread-safe, with their histograms and drift score."""

from __future__ import annotations

import threading
from collections import deque

import numpy as np

from captcha_solver.monitoring._baseline import Baseline
from captcha_solver.monitoring._drift import drift_score

__all__ = ["SlidingWindow"]


class SlidingWindow:
    """The confidences and lengths of the last ``size`` answers, compared with a baseline.

    :meth:`add` is called by every request thread; :meth:`drift` by the
    metrics scrape. One short lock guards the two deques (an append or a copy).

    Parameters
    ----------
    baseline : Baseline
        What the model's validation readings looked like.
    size : int
        Answers kept (``monitoring.window``).
    min_fill : int
        Answers needed before :meth:`drift` gives a score (``monitoring.min_fill``): a PSI
        of a handful of readings is noise.
    """

    def __init__(self, baseline: Baseline, size: int, min_fill: int):
        if not 1 <= min_fill <= size:
            raise ValueError(
                f"a sliding window needs 1 <= min_fill <= size, got min_fill={min_fill}, size={size}"
            )
        self.baseline = baseline
        self.size = size
        self.min_fill = min_fill
        self._confidences: deque[float] = deque(maxlen=size)
        self._lengths: deque[int] = deque(maxlen=size)
        self._lock = threading.Lock()

    def add(self, confidence: float, length: int) -> None:
        """One answer: its confidence and the length of its text."""
        with self._lock:
            self._confidences.append(float(confidence))
            self._lengths.append(int(length))

    def __len__(self) -> int:
        return len(self._confidences)

    def snapshot(self) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the confidences and lengths in the window, oldest first."""
        with self._lock:
            return np.array(self._confidences, dtype=float), np.array(self._lengths, dtype=float)

    def histograms(self) -> tuple[np.ndarray, np.ndarray]:
        """The window's confidence and length counts over the baseline's bins."""
        return self.baseline.histograms(*self.snapshot())

    def drift(self) -> float | None:
        """The drift score of the window (see :func:`drift_score`), None until ``min_fill`` answers came."""
        confidences, lengths = self.snapshot()
        if len(confidences) < self.min_fill:
            return None
        return drift_score(self.baseline, confidences, lengths)
