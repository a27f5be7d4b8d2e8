"""The answers of the API watched per model version: the metrics of each reading and the drift windows."""

from __future__ import annotations

import threading
from collections import OrderedDict

from captcha_solver.monitoring import Baseline, SlidingWindow
from captcha_solver.serving._metrics import Metrics
from captcha_solver.settings import MonitoringConfig

__all__ = ["AnswerMonitor"]

#: Drift windows kept: the versions served most recently (an older one's gauge is removed).
MAX_VERSIONS = 4


class AnswerMonitor:
    """Count each answer in the metrics and keep a drift window per model version.

    :meth:`observe` runs for every answer, :meth:`refresh` before every
    scrape (the PSI is computed there, once per scrape, not per request).
    Each window has its own short lock (:class:`SlidingWindow`); the small map
    of windows has another, taken only when a version is seen first.

    Parameters
    ----------
    metrics : Metrics
    settings : MonitoringConfig
        ``window`` and ``min_fill``.
    logger : logging.Logger, optional
        Told once per version when its model has no baseline (no drift score then).
    """

    def __init__(self, metrics: Metrics, settings: MonitoringConfig, logger=None):
        self.metrics = metrics
        self.settings = settings
        self.logger = logger
        self._windows: OrderedDict[str, SlidingWindow | None] = OrderedDict()
        self._lock = threading.Lock()
        metrics.before_render.append(self.refresh)

    def _window(self, version: str, model) -> SlidingWindow | None:
        window = self._windows.get(version, False)
        if window is not False or model is None:  # None: the model is not known yet (a swap in between)
            return window or None
        with self._lock:
            if version in self._windows:
                return self._windows[version]
            monitoring = getattr(getattr(model, "manifest", None), "monitoring", None)
            baseline = monitoring.baseline if monitoring is not None else None
            window, problem = None, "has no monitoring baseline in its manifest"
            if baseline is not None:
                try:
                    window = SlidingWindow(
                        Baseline.from_dict(baseline), self.settings.window, self.settings.min_fill
                    )
                except ValueError as exc:  # a broken baseline costs the drift score, not the answers
                    problem = f"has a broken monitoring baseline ({exc})"
            if window is None and self.logger is not None:
                self.logger.warning(
                    "model %s %s: no drift score for it (train it again, or run bench/baseline.py on it)",
                    version,
                    problem,
                )
            self._windows[version] = window
            while len(self._windows) > MAX_VERSIONS:
                old, _ = self._windows.popitem(last=False)
                for gauge in (self.metrics.drift, self.metrics.window_fill):
                    try:
                        gauge.remove(old)
                    except KeyError:  # never exported (no baseline, or too few readings)
                        pass
            return window

    def observe(self, answer: dict, model) -> None:
        """Count one answer (the API's JSON fields) of ``model`` (the :class:`inference.Model` that read it)."""
        version = answer.get("model_version") or "unknown"
        confidence = float(answer["confidence"])
        length = len(answer["text"])
        metrics = self.metrics
        metrics.answers.labels(version, answer["reader"] or "none").inc()
        metrics.confidence.labels(version).observe(confidence)
        metrics.length.labels(version).observe(length)
        policy = getattr(model, "policy", None)
        if policy is not None and confidence < policy.min_confidence:
            metrics.below_fast_path.labels(version).inc()
        window = self._window(version, model)
        if window is not None:
            window.add(confidence, length)

    def drift(self, version: str) -> float | None:
        """The drift score of a version's window (None: no baseline, or fewer than ``min_fill`` readings)."""
        window = self._windows.get(version)
        return window.drift() if window is not None else None

    def refresh(self) -> None:
        """Set the drift gauges from the windows (before a scrape)."""
        for version, window in list(self._windows.items()):
            if window is None:
                continue
            self.metrics.window_fill.labels(version).set(len(window))
            score = window.drift()
            if score is not None:
                self.metrics.drift.labels(version).set(score)
