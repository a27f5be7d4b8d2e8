"""Fusing the two readers' evidence at reading time: each candidate's weighted score and its probability.

Every candidate text of a captcha (the classical reading, the neural
reader's best beams) gets two log-probabilities: the neural reader's CTC
probability of that text and the classical lattice's probability of it
(the best segmentation path that reads it). The answer is the candidate
with the best weighted sum; its confidence is its share of a softmax over
the candidates at a fitted temperature. A classical reading that is
plausible and already sure (the fast path) is kept without the neural pass.
Pure functions over arrays; the weights are fitted by the training wing
(:mod:`captcha_solver.training`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["FLOOR", "candidate_probabilities", "fused_scores", "keep_classical"]

#: Log-probability given to a candidate a reader cannot produce at all (so that
#: one reader's veto is strong but finite: the other reader can still win).
FLOOR = -60.0


def keep_classical(plausible, confidence, min_confidence: float):
    """True where the classical reading is kept without asking the neural reader (scalars or arrays)."""
    return np.logical_and(plausible, np.asarray(confidence) >= min_confidence)


def fused_scores(f_neural, f_classical, weight: float) -> np.ndarray:
    """Weighted log-evidence of each candidate: ``(1 - weight) * neural + weight * classical``."""
    fn = np.maximum(np.asarray(f_neural, dtype=np.float64), FLOOR)
    fc = np.maximum(np.asarray(f_classical, dtype=np.float64), FLOOR)
    return (1.0 - weight) * fn + weight * fc


def candidate_probabilities(scores, temperature: float) -> np.ndarray:
    """Softmax of ``temperature * scores``: each candidate's chance of being the text."""
    z = temperature * np.asarray(scores, dtype=np.float64)
    if z.size == 0:
        return z
    z = np.exp(z - z.max())
    return z / z.sum()
