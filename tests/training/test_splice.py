"""Splicing: CTC forced alignment, cut columns, and spliced captchas whose label matches their pixels."""

from __future__ import annotations

import numpy as np

from captcha_solver.neural import BLANK
from captcha_solver.training.neural._splice import SplicePool, ctc_align, cut_columns, splice


def _log_probs(frames: list[int], classes: int, sure: float = 0.9) -> np.ndarray:
    """(T, C) log-probs whose most likely class at frame t is ``frames[t]``."""
    p = np.full((len(frames), classes), (1 - sure) / (classes - 1))
    p[np.arange(len(frames)), frames] = sure
    return np.log(p)


def test_alignment_finds_each_characters_frames():
    b = BLANK
    # "aab" as classes 1, 1, 2: the repeated 1 needs a blank between its two frames.
    lp = _log_probs([b, 1, 1, b, b, 1, b, 2, 2, b], classes=4)
    assert ctc_align(lp, [1, 1, 2]) == [(1, 2), (5, 5), (7, 8)]


def test_alignment_follows_the_label_not_the_argmax():
    b = BLANK
    # The frames say "1 2" but the label is "1 3": the path must still emit 3, where 2 is.
    lp = _log_probs([b, 1, b, 2, b], classes=4)
    assert ctc_align(lp, [1, 3]) == [(1, 1), (3, 3)]


def test_too_few_frames_cannot_be_aligned():
    lp = _log_probs([BLANK, 1], classes=3)
    assert ctc_align(lp, [1, 1]) is None  # two 1s need a blank between them: 3 frames
    assert ctc_align(lp, []) is None


def test_cut_columns_are_in_the_gaps():
    spans = [(1, 2), (5, 5), (9, 10)]
    # stride 2: gap between frame 2 and 5 is frames 3-4, its middle at frame 4 -> column 8
    assert cut_columns(spans, 2, 30) == [8, 15]


def test_splice_joins_the_left_of_one_to_the_right_of_another():
    a = np.zeros((4, 10), np.float32)
    b = np.ones((4, 12), np.float32)
    out, label = splice(a, [3, 6], "xyz", b, [4, 8], "pqr", 2)
    assert label == "xyr"
    assert out.shape == (4, 6 + 4)
    assert (out[:, :6] == 0).all() and (out[:, 6:] == 1).all()


def test_pool_draws_labelled_splices_from_aligned_captchas():
    b = BLANK
    charset = "ab"
    frames = [b, 1, b, b, 2, b, b, 1, b]  # "aba", 9 frames = 18 columns at stride 2
    labels = ["aba", "bab"]
    frames_2 = [b, 2, b, b, 1, b, b, 2, b]
    lps = [_log_probs(frames, 3), _log_probs(frames_2, 3)]
    arrays = [np.full((4, 18), 0.2, np.float32), np.full((4, 18), 0.7, np.float32)]
    pool = SplicePool(labels, charset, frame_stride=2, max_width=64)
    assert pool.refresh(lps, [18, 18]) == 2
    rng = np.random.default_rng(0)
    made = [pool.draw(0, arrays, rng) for _ in range(20)]
    made = [m for m in made if m is not None]
    assert made, "a pool of two aligned captchas must splice"
    for out, label in made:
        assert label in {"aab", "abb"}  # "a" + "bab"[1:] or "ab" + "bab"[2:]
        cut = int((out == 0.2).all(axis=0).sum())
        assert cut in {6, 12}  # the left part ends in the gap after its first or second character
        assert label == ("aab" if cut == 6 else "abb")


def test_pool_never_makes_a_captcha_wider_than_the_network_takes():
    b = BLANK
    lps = [_log_probs([b, 1, b, 2, b] * 4, 3)] * 2
    pool = SplicePool(["ab", "ab"], "ab", frame_stride=2, max_width=8)
    pool.refresh(lps, [40, 40])
    rng = np.random.default_rng(1)
    arrays = [np.zeros((4, 40), np.float32)] * 2
    assert all(pool.draw(0, arrays, rng) is None for _ in range(10))
