"""The routing rule and the choice of its threshold, as pure functions over arrays."""

from __future__ import annotations

import numpy as np

__all__ = ["DEFAULT_MIN_CONFIDENCE", "keep_classical", "pick_min_confidence", "routed_choice"]

#: Threshold for a model whose manifest records none (trained before it was picked).
DEFAULT_MIN_CONFIDENCE = 0.9

#: Thresholds tried: coarse where classical confidences are rare, fine near 1
#: where most of them sit.
GRID = np.unique(np.round(np.concatenate([np.arange(0.3, 0.9, 0.05), np.arange(0.9, 1.0, 0.01), [1.0]]), 3))


def keep_classical(plausible, confidence, min_confidence: float):
    """True where the classical reading is trusted without asking the neural reader.

    Works on scalars and on arrays alike.
    """
    return np.logical_and(plausible, np.asarray(confidence) >= min_confidence)


def routed_choice(plausible, confidence, neural_confidence, min_confidence: float):
    """True where the routed answer is the classical one.

    A reading kept by :func:`keep_classical`, or one more confident than
    the neural reading (the neural reader is asked and loses).
    """
    return np.logical_or(
        keep_classical(plausible, confidence, min_confidence),
        np.asarray(confidence) > np.asarray(neural_confidence),
    )


def pick_min_confidence(
    classical_correct,
    classical_confidence,
    plausible,
    neural_correct,
    neural_confidence,
    grid=None,
) -> dict:
    """The threshold that maximises routed exact accuracy on validation captchas.

    Parameters
    ----------
    classical_correct, neural_correct : (n,) array of bool
        Whether each reader read each validation captcha exactly.
    classical_confidence, neural_confidence : (n,) array of float
    plausible : (n,) array of bool
        The classical reading has one component per character.
    grid : array of float, optional
        Thresholds to try (default: 0.3 to 1.0, finer above 0.9).

    Returns
    -------
    dict
        ``min_confidence`` (the grid point in the middle of the widest run of thresholds that
        reach the best accuracy: a threshold at the run's edge would be one
        captcha away from a worse one), ``best_range`` (that run's ends),
        ``val_exact`` (routed), ``val_exact_classical``, ``val_exact_neural``,
        ``neural_share`` (part of captchas the neural reader reads) and
        ``n`` (captchas).

    Raises
    ------
    ValueError
        If the arrays are empty or of different lengths.
    """
    cc = np.asarray(classical_correct, dtype=bool)
    arrays = [
        cc,
        np.asarray(classical_confidence, float),
        np.asarray(plausible, bool),
        np.asarray(neural_correct, bool),
        np.asarray(neural_confidence, float),
    ]
    if len({a.shape for a in arrays}) != 1 or cc.ndim != 1 or cc.size == 0:
        raise ValueError(
            f"need five non-empty 1-D arrays of one length, got shapes {[a.shape for a in arrays]}"
        )
    _, conf, plaus, nc, nconf = arrays
    grid = GRID if grid is None else np.asarray(grid, float)
    accuracy = np.array([np.where(routed_choice(plaus, conf, nconf, t), cc, nc).mean() for t in grid])
    best = accuracy.max()
    # Widest run of consecutive grid points at the best accuracy.
    runs, start = [], None
    for i, top in enumerate(np.isclose(accuracy, best)):
        if top and start is None:
            start = i
        if start is not None and (not top or i == len(grid) - 1):
            runs.append((start, i if top else i - 1))
            start = None
    lo, hi = max(runs, key=lambda r: (r[1] - r[0], -r[0]))
    # A grid point, not the arithmetic middle: between two grid points the
    # accuracy was not measured.
    threshold = float(grid[(lo + hi) // 2])
    return {
        "min_confidence": threshold,
        "best_range": [float(grid[lo]), float(grid[hi])],
        "val_exact": round(float(best), 6),
        "val_exact_classical": round(float(cc.mean()), 6),
        "val_exact_neural": round(float(nc.mean()), 6),
        "neural_share": round(float(1.0 - keep_classical(plaus, conf, threshold).mean()), 6),
        "n": int(cc.size),
    }
