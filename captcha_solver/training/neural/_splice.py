"""Splicing: new labelled captchas from two labelled ones, cut between the same characters.

A small set shows each character in few neighbourhoods; the reader then
learns the neighbours along with the character. Cutting captcha A after
its k-th character and captcha B before its (k+1)-th, and joining the
left of A to the right of B, gives a captcha of the style whose label is
``A[:k] + B[k:]``: combinatorially many new captchas from the same labels.

Where the characters are comes from the network being trained: the CTC
forced alignment (the most likely path through the label's states) gives
the frames each character is emitted on, and a cut is made in the middle
of the gap between two characters. Pure numpy over the preprocessed
``(H, W)`` arrays; the alignments are refreshed from time to time as the
network improves.
"""

from __future__ import annotations

import numpy as np

from captcha_solver.neural import BLANK
from captcha_solver.training.neural._merge import class_index, with_merged_np

__all__ = ["SplicePool", "ctc_align", "cut_columns", "splice"]

_NEG = -1e30


def ctc_align(log_probs: np.ndarray, label_ids: list[int]) -> list[tuple[int, int]] | None:
    """Frame span ``(first, last)`` of each label character on the most likely CTC path.

    Parameters
    ----------
    log_probs : (T, C) ndarray
        Per-frame log-probabilities (class ``BLANK`` is the blank).
    label_ids : list of int
        The label's class indices (not blank).

    Returns
    -------
    list of (int, int), or None
        One span per character, in order; None when the label cannot be
        aligned (more characters than frames allow).
    """
    lp = np.asarray(log_probs, dtype=np.float64)
    T = lp.shape[0]
    ext = [BLANK]
    for c in label_ids:
        ext += [c, BLANK]
    S = len(ext)
    if not label_ids or T < len(label_ids) + sum(a == b for a, b in zip(label_ids, label_ids[1:])):
        return None
    ext_arr = np.array(ext)
    emit = lp[:, ext_arr]  # (T, S)
    # A state may be entered from itself, the one before, or two before
    # (skipping a blank between two different characters).
    skip = np.zeros(S, dtype=bool)
    skip[2:] = (ext_arr[2:] != BLANK) & (ext_arr[2:] != ext_arr[:-2])
    score = np.full(S, _NEG)
    score[0], score[1] = emit[0, 0], emit[0, 1]
    back = np.zeros((T, S), dtype=np.int8)
    for t in range(1, T):
        stay = score
        step = np.concatenate(([_NEG], score[:-1]))
        jump = np.where(skip, np.concatenate(([_NEG, _NEG], score[:-2])), _NEG)
        moves = np.stack([stay, step, jump])  # 0: stay, 1: from s-1, 2: from s-2
        back[t] = np.argmax(moves, axis=0)
        score = moves[back[t], np.arange(S)] + emit[t]
    s = S - 1 if score[S - 1] >= score[S - 2] else S - 2
    if score[s] <= _NEG / 2:
        return None
    states = np.empty(T, dtype=np.int64)
    for t in range(T - 1, -1, -1):
        states[t] = s
        s -= int(back[t, s])
    spans = []
    for k in range(len(label_ids)):
        frames = np.flatnonzero(states == 2 * k + 1)
        if frames.size == 0:
            return None
        spans.append((int(frames[0]), int(frames[-1])))
    return spans


def cut_columns(spans: list[tuple[int, int]], frame_stride: int, width: int) -> list[int]:
    """Pixel column of the cut between each pair of neighbouring characters (``len(spans) - 1`` of them).

    Frame ``f`` covers columns ``[f * stride, (f + 1) * stride)``: the cut
    is the middle of the gap between one character's last frame and the
    next one's first.
    """
    cuts = []
    for (_, end), (start, _) in zip(spans, spans[1:]):
        middle = (end + start + 1) / 2  # in frames; the gap's middle, at a frame boundary when they touch
        cuts.append(int(min(max(round(middle * frame_stride), 1), width - 1)))
    return cuts


def splice(
    a: np.ndarray, cuts_a: list[int], label_a: str, b: np.ndarray, cuts_b: list[int], label_b: str, k: int
) -> tuple[np.ndarray, str]:
    """The left of ``a`` up to its ``k``-th cut joined to the right of ``b`` from its ``k``-th cut.

    ``k`` counts from 1 (after the first character) and must be below the
    length of both labels. Returns the new array and its label
    ``label_a[:k] + label_b[k:]``.
    """
    left = a[:, : cuts_a[k - 1]]
    right = b[:, cuts_b[k - 1] :]
    return np.ascontiguousarray(np.concatenate([left, right], axis=1)), label_a[:k] + label_b[k:]


class SplicePool:
    """The cuts of each training captcha, and spliced captchas drawn from them.

    Parameters
    ----------
    labels : list of str
        The training labels (index-aligned with the arrays given to :meth:`draw`).
    charset : str
        Class ``i + 1`` is ``charset[i]``.
    frame_stride : int
        Pixels per output frame.
    max_width : int
        Widest array a splice may give (wider ones are not made).
    groups : tuple of str
        Merged groups (:mod:`._merge`): a label's placeholder is aligned on its group's summed probability.
    """

    def __init__(
        self, labels: list[str], charset: str, frame_stride: int, max_width: int, groups: tuple[str, ...] = ()
    ):
        self.labels = labels
        self.charset, self.groups = charset, groups
        self.index = class_index(charset, groups)
        self.frame_stride = frame_stride
        self.max_width = max_width
        self.cuts: dict[int, list[int]] = {}
        self._ready: list[int] = []  # the keys of ``cuts`` as a list, to draw a partner from

    def refresh(self, log_probs: list[np.ndarray], widths: list[int]) -> int:
        """Align every training captcha anew from the network's ``log_probs``; returns how many aligned."""
        self.cuts = {}
        for i, (lp, label, width) in enumerate(zip(log_probs, self.labels, widths)):
            if len(label) < 2:
                continue
            spans = ctc_align(with_merged_np(lp, self.charset, self.groups), [self.index[ch] for ch in label])
            if spans is not None:
                self.cuts[i] = cut_columns(spans, self.frame_stride, width)
        self._ready = list(self.cuts)
        return len(self.cuts)

    def draw(
        self, i: int, arrays: list[np.ndarray], rng: np.random.Generator
    ) -> tuple[np.ndarray, str] | None:
        """A splice of captcha ``i`` (left) with a random partner (right), or None if none can be made."""
        if i not in self.cuts or len(self.cuts) < 2:
            return None
        j = self._ready[int(rng.integers(len(self._ready)))]
        if j == i:
            return None
        n = min(len(self.labels[i]), len(self.labels[j]))
        if n < 2:
            return None
        k = int(rng.integers(1, n))
        out, label = splice(
            arrays[i], self.cuts[i], self.labels[i], arrays[j], self.cuts[j], self.labels[j], k
        )
        if out.shape[1] > self.max_width or out.shape[1] < 8:
            return None
        return out, label
