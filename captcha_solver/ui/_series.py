"""The monitoring page's series, computed from the results CSV and ``feedback.csv`` rows (no server needed).

Pure functions over rows as :func:`captcha_solver.records.load_results` and
:func:`captcha_solver.records.load_feedback` give them; each returns a list of plain dicts, one per
point, that the page turns into plots. Rows without a usable timestamp or number are left out of the
series (they are still in the records page).
"""

from __future__ import annotations

import datetime as _dt
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from captcha_solver.monitoring import Baseline, drift_score
from captcha_solver.records import parse_time

__all__ = ["Reading", "accept_rate_windows", "confidence_windows", "readings_of", "requests_per_minute"]


@dataclass(frozen=True)
class Reading:
    """One answered captcha of the results CSV: when, how sure, how many characters."""

    time: _dt.datetime
    confidence: float
    length: int


def readings_of(rows: Sequence[dict]) -> list[Reading]:
    """The answered (``status == ok``) rows with a timestamp and a confidence, in file order."""
    found = []
    for row in rows:
        if row.get("status") != "ok":
            continue
        stamp = parse_time(row.get("timestamp", ""))
        try:
            confidence = float(row.get("confidence", ""))
        except ValueError:
            continue
        if stamp is None or not math.isfinite(confidence):
            continue
        found.append(Reading(stamp, confidence, len(row.get("prediction", ""))))
    return found


def requests_per_minute(rows: Sequence[dict], *, max_points: int = 720) -> list[dict]:
    """Readings per minute, answered and failed apart: ``{"time", "status", "per_minute"}`` points.

    Over a long span the minutes are grouped (an hour, a day) so that there are at most about
    ``max_points`` points per status; ``per_minute`` stays a per-minute average.
    """
    stamps = [(parse_time(row.get("timestamp", "")), row.get("status") or "error") for row in rows]
    stamps = [(t.astimezone(_dt.UTC), s) for t, s in stamps if t is not None]
    if not stamps:
        return []
    span_min = (max(t for t, _ in stamps) - min(t for t, _ in stamps)).total_seconds() / 60
    bucket_min = next((b for b in (1, 5, 15, 60, 360, 1440) if span_min / b <= max_points), 10080)
    counts: Counter = Counter()
    for stamp, status in stamps:
        minute = int(stamp.timestamp() // 60)
        counts[(minute - minute % bucket_min, status)] += 1
    return [
        {
            "time": _dt.datetime.fromtimestamp(start * 60, _dt.UTC),
            "status": status,
            "per_minute": count / bucket_min,
        }
        for (start, status), count in sorted(counts.items())
    ]


def confidence_windows(
    readings: Sequence[Reading],
    *,
    window: int,
    min_fill: int,
    threshold: float,
    baseline: Baseline | None,
    max_points: int = 300,
) -> list[dict]:
    """Sliding windows of the last ``window`` answers, as the API's drift gauge sees them.

    Parameters
    ----------
    readings : sequence of Reading
        In time order (the file's order).
    window, min_fill : int
        ``monitoring.window`` and ``monitoring.min_fill``: a window holds up to ``window`` answers,
        and gets a drift score once it holds ``min_fill``.
    threshold : float
        The fast-path threshold: ``below`` is the share of answers less sure than it.
    baseline : Baseline or None
        The loaded model's validation baseline; None (a model trained before baselines) gives no drift.
    max_points : int
        Windows are evaluated every ``ceil(n / max_points)`` answers (and at the last one).

    Returns
    -------
    points : list of dict
        ``{"time", "answers", "median", "below", "drift"}`` at each window's last answer;
        ``drift`` is None while the window holds fewer than ``min_fill`` answers or without a baseline.
    """
    n = len(readings)
    if n == 0:
        return []
    confidences = np.array([r.confidence for r in readings], dtype=float)
    lengths = np.array([r.length for r in readings], dtype=float)
    step = max(1, math.ceil(n / max_points))
    ends = list(range(step, n + 1, step))
    if ends[-1] != n:
        ends.append(n)
    points = []
    for end in ends:
        start = max(0, end - window)
        conf = confidences[start:end]
        drift = None
        if baseline is not None and end - start >= min_fill:
            drift = drift_score(baseline, conf, lengths[start:end])
        points.append(
            {
                "time": readings[end - 1].time,
                "answers": end - start,
                "median": float(np.median(conf)),
                "below": float(np.mean(conf < threshold)),
                "drift": drift,
            }
        )
    return points


def accept_rate_windows(feedback: Sequence[dict], *, window: int, max_points: int = 300) -> list[dict]:
    """The site's accept rate over the last ``window`` verdicts of each model version.

    Returns
    -------
    points : list of dict
        ``{"time", "version", "accept_rate", "verdicts"}``, per version in time order; a row without a
        timestamp or with an ``accepted`` that is not a bool is left out.
    """
    by_version: dict[str, list[tuple[_dt.datetime, bool]]] = defaultdict(list)
    for row in feedback:
        stamp = parse_time(str(row.get("timestamp", "")))
        accepted = row.get("accepted")
        if stamp is None or not isinstance(accepted, bool):
            continue
        by_version[str(row.get("model_version") or "unknown")].append((stamp, accepted))
    points = []
    for version, verdicts in sorted(by_version.items()):
        flags = np.array([a for _, a in verdicts], dtype=float)
        n = len(verdicts)
        step = max(1, math.ceil(n / max_points))
        ends = list(range(step, n + 1, step))
        if ends[-1] != n:
            ends.append(n)
        for end in ends:
            start = max(0, end - window)
            points.append(
                {
                    "time": verdicts[end - 1][0],
                    "version": version,
                    "accept_rate": float(flags[start:end].mean()),
                    "verdicts": end - start,
                }
            )
    return points
