"""Progress shown to a person: a tqdm bar over a batch (:func:`progress`), a status bar over a training run.

:class:`RunProgress` is the one display of a whole training run.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Iterable

from captcha_solver.common.log import LOGGER_NAME

__all__ = ["RunProgress", "progress"]


def progress(
    iterable: Iterable | None = None, *, total: int | None = None, desc: str = "", enabled: bool = True
):
    """Wrap ``iterable`` in a tqdm bar on stderr when ``enabled``, else return it unchanged.

    Parameters
    ----------
    iterable : iterable, optional
        What to iterate; None gives a bar to ``update()`` by hand (or None when disabled).
    total : int, optional
        Number of items, when ``iterable`` has no length.
    desc : str
        Label of the bar ("predict", "generate", ...).
    enabled : bool
        False (tests, worker processes, quiet runs) shows nothing.

    Returns
    -------
    iterable, tqdm bar or None
    """
    if not enabled:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, unit="img", file=sys.stderr, leave=iterable is not None)


class RunProgress:
    """A single status bar over a run's time budget, refreshed every second.

    Parameters
    ----------
    budget_seconds : float
        The run's budget: the bar fills as it is used.
    enabled : bool
        False (tests, quiet runs) shows nothing; every method still works.
    stream : file, optional
        Where the bar is drawn (default stderr).

    Examples
    --------
    >>> with RunProgress(60, enabled=False) as run:
    ...     run.phase("neural", "epoch 1/30")
    ...     run.best("neural val exact", 0.97)
    """

    def __init__(self, budget_seconds: float, *, enabled: bool = True, stream=None):
        self.budget = max(float(budget_seconds), 1.0)
        self.started = time.monotonic()
        self._phase, self._detail, self._best = "start", "", ""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._bar = None
        self._thread = None
        self._redirect = None
        self._interval, self._drawn = 1.0, 0.0
        if enabled:
            from tqdm import tqdm
            from tqdm.contrib.logging import logging_redirect_tqdm

            stream = stream or sys.stderr
            self._bar = tqdm(
                total=round(self.budget),
                file=stream,
                bar_format="train {bar:24} {n:.0f}/{total:.0f} s | {desc}",
                leave=True,
            )
            # Log records go above the bar instead of through it.
            self._redirect = logging_redirect_tqdm(loggers=[logging.getLogger(LOGGER_NAME)])
            self._redirect.__enter__()
            # A terminal gets a live bar; a log file or CI output a line every half minute.
            self._interval = 1.0 if getattr(stream, "isatty", lambda: False)() else 30.0
            self._thread = threading.Thread(target=self._tick, name="run-progress", daemon=True)
            self._thread.start()

    @property
    def elapsed(self) -> float:
        """Seconds since the run started."""
        return time.monotonic() - self.started

    @property
    def left(self) -> float:
        """Seconds of the budget left (negative once it is overrun)."""
        return self.budget - self.elapsed

    def phase(self, name: str, detail: str = "") -> None:
        """Enter a phase (``survey``, ``classical``, ``neural``, ``fusion``, ``verify``), or update its detail."""
        with self._lock:
            new = name != self._phase
            self._phase, self._detail = name, detail
        self._draw(force=new)

    def best(self, what: str, value: float) -> None:
        """The best validation figure so far, e.g. ``best("neural val exact", 0.98)``."""
        with self._lock:
            self._best = f"best {what} {value:.4f}"
        self._draw(force=False)

    def status(self) -> str:
        """The status text the bar shows."""
        with self._lock:
            parts = [f"{self._phase}{': ' + self._detail if self._detail else ''}", self._best]
        used, left = self.elapsed, self.left
        parts.append(f"{used / 60:.1f} min used, {max(left, 0.0) / 60:.1f} min left")
        return " | ".join(p for p in parts if p)

    def _draw(self, force: bool = True) -> None:
        if self._bar is None:
            return
        now = time.monotonic()
        if not force and now - self._drawn < min(self._interval, 5.0):
            return  # an epoch every second must not flood a log file
        self._drawn = now
        self._bar.n = min(round(self.elapsed), self._bar.total)
        self._bar.set_description_str(self.status(), refresh=True)

    def _tick(self) -> None:
        while not self._stop.wait(self._interval):
            self._draw(force=True)

    def close(self) -> None:
        """Stop refreshing and leave the last status on screen."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self._bar is not None:
            self._draw()
            self._bar.close()
            self._bar = None
        if self._redirect is not None:
            self._redirect.__exit__(None, None, None)
            self._redirect = None

    def __enter__(self) -> RunProgress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
