"""Choose the reading of a captcha from its lattice of glyph candidates.

Every run of consecutive atoms is a glyph candidate; the classifier gives
each a probability per character plus a "garbage" probability (a piece of a
glyph, two glyphs stuck together, background noise). The best reading is the
path through the atoms that maximises the sum of log-probabilities, where a
whole blob may also be skipped as noise at the cost of its garbage
probability. Only whole blobs: the pieces of a cut glyph are each garbage
too, and skipping them would cost as little as reading the glyph.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Reading", "best_path", "forced_alignment"]

_FLOOR = 1e-9


@dataclass(frozen=True)
class Reading:
    """The chosen glyphs: their atom runs, class indices and probabilities."""

    spans: tuple[tuple[int, int], ...]
    classes: tuple[int, ...]
    probabilities: tuple[float, ...]
    log_score: float


def _index(spans, skippable):
    by_stop: dict[int, list[int]] = {}
    for k, (_start, stop) in enumerate(spans):
        by_stop.setdefault(stop, []).append(k)
    position = {s: k for k, s in enumerate(spans)}
    skips: dict[int, list[int]] = {}
    for s in skippable:
        if s in position:
            skips.setdefault(s[1], []).append(position[s])
    return by_stop, skips


def best_path(
    n_atoms: int,
    spans: list[tuple[int, int]],
    proba: np.ndarray,
    garbage: int,
    skippable: list[tuple[int, int]] = (),
    skip_penalty: float = 4.0,
) -> Reading:
    """Most likely reading (dynamic programming over atom positions).

    Parameters
    ----------
    n_atoms : int
    spans : list of (start, stop)
        Candidate glyphs, covering every atom.
    proba : (len(spans), n_classes) ndarray
        Class probabilities of each candidate; column ``garbage`` is the
        not-a-glyph class.
    garbage : int
    skippable : list of (start, stop)
        Runs (whole blobs) that may be dropped as noise; each must be in ``spans``.
    skip_penalty : float
        Extra cost (nats) of dropping a blob: two glyphs stuck together are
        garbage as one candidate, and must be cheaper to read than to drop.

    Returns
    -------
    Reading
    """
    logp = np.log(np.maximum(proba, _FLOOR))
    real = logp.copy()
    real[:, garbage] = -np.inf
    best_class = real.argmax(axis=1)
    best_score = real[np.arange(len(spans)), best_class]
    by_stop, skips = _index(spans, skippable)
    score = np.full(n_atoms + 1, -np.inf)
    score[0] = 0.0
    back: list[tuple[int, int | None]] = [(0, None)] * (n_atoms + 1)
    for i in range(1, n_atoms + 1):
        for k in skips.get(i, []):
            cand = score[spans[k][0]] + logp[k, garbage] - skip_penalty
            if cand > score[i]:
                score[i], back[i] = cand, (spans[k][0], None)
        for k in by_stop.get(i, []):
            start = spans[k][0]
            cand = score[start] + best_score[k]
            if cand > score[i]:
                score[i], back[i] = cand, (start, k)
    chosen: list[int] = []
    i = n_atoms
    while i > 0:
        i, k = back[i]
        if k is not None:
            chosen.append(k)
    chosen.reverse()
    return Reading(
        spans=tuple(spans[k] for k in chosen),
        classes=tuple(int(best_class[k]) for k in chosen),
        probabilities=tuple(float(proba[k, best_class[k]]) for k in chosen),
        log_score=float(score[n_atoms]),
    )


def forced_alignment(
    n_atoms: int,
    spans: list[tuple[int, int]],
    proba: np.ndarray,
    garbage: int,
    target: list[int],
    skippable: list[tuple[int, int]] = (),
    skip_penalty: float = 4.0,
) -> Reading | None:
    """The reading of exactly ``target`` (class indices) that fits best, if any.

    Used in training to find which atoms make each labelled character when
    the plain segmentation's count does not match the label.
    """
    logp = np.log(np.maximum(proba, _FLOOR))
    n_chars = len(target)
    by_stop, skips = _index(spans, skippable)
    # score[i, c]: best log-prob with atoms [0, i) read as the first c characters.
    score = np.full((n_atoms + 1, n_chars + 1), -np.inf)
    score[0, 0] = 0.0
    back: dict[tuple[int, int], tuple[int, int, int | None]] = {}
    for i in range(1, n_atoms + 1):
        for k in skips.get(i, []):
            start = spans[k][0]
            for c in range(n_chars + 1):
                cand = score[start, c] + logp[k, garbage] - skip_penalty
                if cand > score[i, c]:
                    score[i, c], back[(i, c)] = cand, (start, c, None)
        for k in by_stop.get(i, []):
            start = spans[k][0]
            for c in range(1, n_chars + 1):
                cand = score[start, c - 1] + logp[k, target[c - 1]]
                if cand > score[i, c]:
                    score[i, c], back[(i, c)] = cand, (start, c - 1, k)
    if not np.isfinite(score[n_atoms, n_chars]):
        return None
    chosen: list[int] = []
    i, c = n_atoms, n_chars
    while i > 0:
        i, c, k = back[(i, c)]
        if k is not None:
            chosen.append(k)
    chosen.reverse()
    return Reading(
        spans=tuple(spans[k] for k in chosen),
        classes=tuple(target),
        probabilities=tuple(float(proba[k, t]) for k, t in zip(chosen, target)),
        log_score=float(score[n_atoms, n_chars]),
    )
