"""Population stability index (PSI) and the drift score of live readings against a model's baseline."""

from __future__ import annotations

import numpy as np

from captcha_solver.monitoring._baseline import Baseline

__all__ = ["DRIFT_ALERT", "PSI_PSEUDO_COUNT", "drift_score", "psi"]

#: Counts added to both histograms' bins before their shares are taken (Jeffreys' half count):
#: the floor that keeps a bin empty on one side from making ln(0) infinite. A floor in counts,
#: not in shares, fades as the samples grow, and keeps the score of a small window from being
#: dominated by bins that one or two readings happen to reach. Bins empty on both sides are left
#: out first: they say nothing, and their floors would only tell the two sample sizes apart.
PSI_PSEUDO_COUNT = 0.5
#: The usual reading of PSI: under 0.1 no change, 0.1-0.25 a moderate one, over 0.25 a significant
#: shift. The alert rules (deploy/prometheus/rules.yml) fire above this value.
DRIFT_ALERT = 0.25


def psi(expected_counts, actual_counts, pseudo_count: float = PSI_PSEUDO_COUNT) -> float:
    """Population stability index of two histograms over the same bins.

    ``sum((a - e) * ln(a / e))`` over the bins' shares ``e`` (expected) and
    ``a`` (actual), each computed with ``pseudo_count`` added to every bin that
    either histogram reaches. Symmetric, 0 for equal counts, growing as mass
    moves between bins.

    Raises
    ------
    ValueError
        If the histograms have different numbers of bins, a negative count, or either is empty.
    """
    expected = np.asarray(expected_counts, dtype=float)
    actual = np.asarray(actual_counts, dtype=float)
    if expected.shape != actual.shape or expected.ndim != 1:
        raise ValueError(
            f"psi needs two histograms over the same bins, got {expected.shape} and {actual.shape}"
        )
    if (expected < 0).any() or (actual < 0).any():
        raise ValueError("psi: histogram counts must be >= 0")
    if expected.sum() <= 0 or actual.sum() <= 0:
        raise ValueError("psi: both histograms need at least one count")
    used = (expected + actual) > 0
    expected, actual = expected[used], actual[used]
    e = (expected + pseudo_count) / (expected.sum() + pseudo_count * expected.size)
    a = (actual + pseudo_count) / (actual.sum() + pseudo_count * actual.size)
    return float(np.sum((a - e) * np.log(a / e)))


def drift_score(baseline: Baseline, confidences, lengths) -> float:
    """How far live readings are from the baseline: the larger of the confidence and the length PSI.

    The larger, not the mean: a changed captcha style may show in one of the
    two only (readings as sure as ever but with glyphs merged or split, or the
    same lengths read with less confidence), and a mean would halve that one
    signal. The score keeps the PSI scale, so :data:`DRIFT_ALERT` keeps its meaning.

    Raises
    ------
    ValueError
        If there are no readings.
    """
    conf, length = baseline.histograms(confidences, lengths)
    return max(psi(baseline.confidence_counts, conf), psi(baseline.length_counts, length))
