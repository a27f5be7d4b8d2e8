"""CTC decoding over numpy arrays: greedy, prefix beam search (top-k), charset masks.

No framework here: the reader runs on onnxruntime and numpy only.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from captcha_solver.neural._arch import BLANK

__all__ = ["beam_search", "fold_case", "greedy_decode", "restrict_charset"]


def greedy_decode(log_probs: np.ndarray, charset: str) -> tuple[str, list[float]]:
    """Best path: the most likely class per frame, repeats merged, blanks dropped.

    Parameters
    ----------
    log_probs : (T, C) ndarray of float
        Per-frame log-probabilities, class 0 the blank, class ``i`` is
        ``charset[i - 1]``.
    charset : str
        The reader's characters, ``len(charset) == C - 1``.

    Returns
    -------
    text : str
    char_confidences : list of float
        For each character, the highest probability among the frames that
        emitted it (a run of the same class).

    Raises
    ------
    ValueError
        If ``log_probs`` is not 2-D with ``len(charset) + 1`` classes.
    """
    _check(log_probs, charset)
    best = log_probs.argmax(axis=1)
    best_p = np.exp(log_probs[np.arange(len(best)), best])
    chars: list[str] = []
    confs: list[float] = []
    prev = BLANK
    for cls, p in zip(best.tolist(), best_p.tolist()):
        if cls != BLANK:
            if cls != prev:
                chars.append(charset[cls - 1])
                confs.append(p)
            else:
                confs[-1] = max(confs[-1], p)
        prev = cls
    return "".join(chars), confs


def beam_search(
    log_probs: np.ndarray,
    charset: str,
    *,
    k: int = 3,
    beam_width: int = 10,
    prune: float = 1e-3,
) -> list[tuple[str, float]]:
    """The ``k`` most likely texts by CTC prefix beam search.

    Parameters
    ----------
    log_probs : (T, C) ndarray of float
        As in :func:`greedy_decode`.
    charset : str
    k : int
        Alternatives to return, >= 1.
    beam_width : int
        Prefixes kept per frame (at least ``k``).
    prune : float
        Classes below this probability in a frame are not tried (speed:
        usually one to three classes per frame remain).

    Returns
    -------
    list of (text, probability)
        Most likely first; each probability sums every alignment of that
        text, so they are comparable and add up to at most 1.

    Raises
    ------
    ValueError
        If ``k < 1`` or ``log_probs`` does not match ``charset``.
    """
    _check(log_probs, charset)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    beam_width = max(beam_width, k)
    probs = np.exp(log_probs.astype(np.float64))
    # prefix -> [p ending in blank, p ending in its last character]
    beams: dict[tuple[int, ...], list[float]] = {(): [1.0, 0.0]}
    for p in probs:
        cands = [c for c in np.flatnonzero(p >= prune).tolist() if c != BLANK]
        nxt: dict[tuple[int, ...], list[float]] = defaultdict(lambda: [0.0, 0.0])
        for prefix, (pb, pnb) in beams.items():
            total = pb + pnb
            nxt[prefix][0] += total * p[BLANK]
            last = prefix[-1] if prefix else None
            for c in cands:
                if c == last:
                    # A repeat without a blank between is the same character...
                    nxt[prefix][1] += pnb * p[c]
                    # ...after a blank it is a new one.
                    nxt[prefix + (c,)][1] += pb * p[c]
                else:
                    nxt[prefix + (c,)][1] += total * p[c]
        ranked = sorted(nxt.items(), key=lambda kv: kv[1][0] + kv[1][1], reverse=True)
        beams = dict(ranked[:beam_width])
    ranked = sorted(beams.items(), key=lambda kv: kv[1][0] + kv[1][1], reverse=True)[:k]
    return [("".join(charset[c - 1] for c in prefix), float(pb + pnb)) for prefix, (pb, pnb) in ranked]


def restrict_charset(log_probs: np.ndarray, charset: str, allowed: str) -> np.ndarray:
    """Forbid characters outside ``allowed`` and renormalise each frame.

    Parameters
    ----------
    log_probs : (T, C) ndarray of float
    charset : str
        The reader's characters.
    allowed : str
        Characters a caller accepts (e.g. digits only); must share at least
        one character with ``charset``.

    Returns
    -------
    (T, C) ndarray of float32
        New log-probabilities; the input is not modified.

    Raises
    ------
    ValueError
        If ``allowed`` has no character of ``charset``.
    """
    _check(log_probs, charset)
    keep = np.zeros(len(charset) + 1, dtype=bool)
    keep[BLANK] = True
    for i, ch in enumerate(charset):
        keep[i + 1] = ch in allowed
    if keep.sum() == 1:
        raise ValueError(f"allowed characters {allowed!r} share none with the reader's charset {charset!r}")
    out = np.where(keep, log_probs, -np.inf).astype(np.float32)
    m = out.max(axis=1, keepdims=True)
    out -= m + np.log(np.exp(out - m).sum(axis=1, keepdims=True))
    return out


def fold_case(log_probs: np.ndarray, charset: str, case: str) -> np.ndarray:
    """Merge each letter's two cases into one class, for sites that ignore case.

    Parameters
    ----------
    log_probs : (T, C) ndarray of float
    charset : str
    case : {"lower", "upper"}
        Which form keeps the merged probability (the other gets none), so
        ``c`` and ``C`` stop competing and their mass counts once.

    Returns
    -------
    (T, C) ndarray of float32
        New log-probabilities; the input is not modified.

    Raises
    ------
    ValueError
        If ``case`` is not "lower" or "upper".
    """
    _check(log_probs, charset)
    if case not in ("lower", "upper"):
        raise ValueError(f"case must be 'lower' or 'upper', got {case!r}")
    p = np.exp(log_probs.astype(np.float64))
    index = {ch: i + 1 for i, ch in enumerate(charset)}
    for ch, i in index.items():
        target = ch.lower() if case == "lower" else ch.upper()
        j = index.get(target)
        if j is not None and j != i:
            p[:, j] += p[:, i]
            p[:, i] = 0.0
    with np.errstate(divide="ignore"):
        return np.log(p).astype(np.float32)


def _check(log_probs: np.ndarray, charset: str) -> None:
    if log_probs.ndim != 2 or log_probs.shape[1] != len(charset) + 1:
        raise ValueError(
            f"log_probs must be (T, {len(charset) + 1}) for a charset of {len(charset)} characters "
            f"plus the blank, got shape {log_probs.shape}"
        )
