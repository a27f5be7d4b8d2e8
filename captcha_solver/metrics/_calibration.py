"""How far to trust figures: calibration of confidences, and the interval a test size allows."""

from __future__ import annotations

import numpy as np

__all__ = ["expected_calibration_error", "wilson_interval"]


def expected_calibration_error(confidences, correct, bins: int = 10) -> float:
    """ECE: mean |accuracy - confidence| over equal-width bins, weighted by bin size."""
    conf = np.asarray(confidences, dtype=np.float64)
    ok = np.asarray(correct, dtype=np.float64)
    if conf.size == 0:
        return 0.0
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        sel = which == b
        if sel.any():
            ece += sel.mean() * abs(ok[sel].mean() - conf[sel].mean())
    return float(ece)


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion (95% for ``z = 1.96``): the spread a test size allows.

    Unlike the normal approximation it stays inside [0, 1] and is not empty
    at 100%: 189 of 189 right gives (0.980, 1.0).
    """
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (round(float(max(0.0, centre - half)), 4), round(float(min(1.0, centre + half)), 4))
