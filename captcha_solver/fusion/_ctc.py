"""The CTC probability of given texts under a reader's per-frame log-probabilities (numpy only)."""

from __future__ import annotations

import numpy as np

__all__ = ["ctc_log_likelihood"]

_BLANK = 0


def ctc_log_likelihood(log_probs: np.ndarray, labels: list[list[int]]) -> np.ndarray:
    """``log p(label | frames)`` summed over every CTC alignment, for several labels at once.

    The forward algorithm, run for all labels together (one pass over the
    frames): scoring the classical reader's text and the neural reader's
    own candidates costs about as much as scoring one.

    Parameters
    ----------
    log_probs : (T, C) ndarray of float
        Per-frame log-probabilities, class 0 the blank.
    labels : list of list of int
        Class indices (``>= 1``) of each text.

    Returns
    -------
    (len(labels),) ndarray of float64
        ``-inf`` where a text cannot be aligned (more characters than frames
        allow, or a class outside ``C``); an empty label scores the all-blank path.

    Raises
    ------
    ValueError
        If ``log_probs`` is not 2-D.
    """
    lp = np.asarray(log_probs, dtype=np.float64)
    if lp.ndim != 2:
        raise ValueError(f"log_probs must be (T, C), got shape {lp.shape}")
    n_frames, n_classes = lp.shape
    out = np.full(len(labels), -np.inf)
    if not labels or n_frames == 0:
        return out
    valid = [bool(lab) is False or (min(lab) >= 1 and max(lab) < n_classes) for lab in labels]
    longest = max((len(lab) for lab in labels), default=0)
    n_states = 2 * longest + 1
    ext = np.zeros((len(labels), n_states), dtype=np.int64)  # blank, c1, blank, c2, ..., blank
    for k, lab in enumerate(labels):
        if valid[k] and lab:
            ext[k, 1 : 2 * len(lab) : 2] = lab
    # A jump over a blank is allowed only between two different characters.
    skip = np.zeros_like(ext, dtype=bool)
    skip[:, 2:] = (ext[:, 2:] != _BLANK) & (ext[:, 2:] != ext[:, :-2])
    alpha = np.full((len(labels), n_states), -np.inf)
    alpha[:, 0] = lp[0, _BLANK]
    if n_states > 1:
        alpha[:, 1] = lp[0, ext[:, 1]]
    for t in range(1, n_frames):
        prev1 = np.concatenate([np.full((len(labels), 1), -np.inf), alpha[:, :-1]], axis=1)
        prev2 = np.concatenate([np.full((len(labels), 2), -np.inf), alpha[:, :-2]], axis=1)
        prev2 = np.where(skip, prev2, -np.inf)
        alpha = np.logaddexp(np.logaddexp(alpha, prev1), prev2) + lp[t, ext]
    for k, lab in enumerate(labels):
        if not valid[k]:
            continue
        last = 2 * len(lab)
        out[k] = alpha[k, last] if last == 0 else np.logaddexp(alpha[k, last], alpha[k, last - 1])
    return out
