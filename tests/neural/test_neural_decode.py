"""CTC decoding on hand-made probability matrices."""

from __future__ import annotations

import numpy as np
import pytest

from captcha_solver.neural import beam_search, greedy_decode, restrict_charset

CHARSET = "ab"  # class 1 = 'a', class 2 = 'b', class 0 = blank


def _lp(rows):
    p = np.asarray(rows, dtype=np.float64)
    return np.log(p / p.sum(axis=1, keepdims=True)).astype(np.float32)


def test_greedy_collapses_repeats_and_drops_blanks():
    lp = _lp(
        [
            [0.1, 0.8, 0.1],
            [0.1, 0.9, 0.0001],
            [0.9, 0.05, 0.05],
            [0.1, 0.7, 0.2],
            [0.2, 0.1, 0.7],
        ]
    )
    text, confs = greedy_decode(lp, CHARSET)
    # a a _ a b -> "aab": the blank separates the two a's.
    assert text == "aab"
    # Per-char confidence: max over the frames that emitted it.
    np.testing.assert_allclose(confs, [0.9, 0.7, 0.7], rtol=1e-3)


def test_greedy_all_blank_is_empty():
    text, confs = greedy_decode(_lp([[0.9, 0.05, 0.05]] * 4), CHARSET)
    assert text == "" and confs == []


def test_beam_search_orders_alternatives_and_sums_alignments():
    # Frame 2 is ambiguous between 'a' and 'b'.
    lp = _lp([[0.05, 0.9, 0.05], [0.6, 0.0001, 0.3999], [0.1, 0.1, 0.8]])
    top = beam_search(lp, CHARSET, k=3, prune=0.0)
    texts = [t for t, _ in top]
    probs = [p for _, p in top]
    assert texts[0] == "ab"
    assert probs == sorted(probs, reverse=True)
    # P("ab") sums its five alignments a_b, abb, aab, ab_ and _ab:
    p = np.exp(lp.astype(np.float64))
    expected = p[0, 1] * (p[1, 0] * p[2, 2] + p[1, 2] * p[2, 2] + p[1, 1] * p[2, 2] + p[1, 2] * p[2, 0])
    expected += p[0, 0] * p[1, 1] * p[2, 2]
    assert probs[0] == pytest.approx(expected, rel=1e-6)
    assert sum(probs) <= 1.0 + 1e-9
    # The best beam agrees with greedy when one path dominates.
    assert greedy_decode(lp, CHARSET)[0] == texts[0]


def test_beam_search_errors():
    with pytest.raises(ValueError, match="k must be >= 1"):
        beam_search(_lp([[0.5, 0.25, 0.25]]), CHARSET, k=0)
    with pytest.raises(ValueError, match=r"must be \(T, 3\)"):
        beam_search(np.zeros((4, 5), np.float32), CHARSET, k=1)


def test_restrict_charset_masks_and_renormalises():
    lp = _lp([[0.1, 0.6, 0.3], [0.1, 0.2, 0.7]])
    only_b = restrict_charset(lp, CHARSET, "b")
    assert np.isneginf(only_b[:, 1]).all()
    np.testing.assert_allclose(np.exp(only_b).sum(axis=1), 1.0, rtol=1e-5)
    assert greedy_decode(only_b, CHARSET)[0] == "b"
    with pytest.raises(ValueError, match="share none"):
        restrict_charset(lp, CHARSET, "xyz")


def test_fold_case_merges_the_two_cases():
    from captcha_solver.neural import fold_case

    # 'A' 0.4 and 'a' 0.35 against 'b' 0.25 ... folded, 'a' wins with 0.75.
    charset = "Aab"
    lp = _lp([[0.0001, 0.4, 0.35, 0.25]])
    assert greedy_decode(lp, charset)[0] == "A"
    folded = fold_case(lp, charset, "lower")
    text, confs = greedy_decode(folded, charset)
    assert text == "a" and confs[0] == pytest.approx(0.75, rel=1e-3)
    assert greedy_decode(fold_case(lp, charset, "upper"), charset)[0] == "A"
    with pytest.raises(ValueError, match="case must be"):
        fold_case(lp, charset, "title")


def test_calibration_power_and_ece():
    pytest.importorskip("torch")
    from captcha_solver.metrics import expected_calibration_error
    from captcha_solver.training.neural._loop import fit_calibration

    rng = np.random.default_rng(0)
    raw = rng.uniform(0.5, 1.0, 2000)
    # True accuracy is raw ** 2: the fitted power should find about 2.
    ok = rng.uniform(size=raw.size) < raw**2
    power = fit_calibration(raw, ok)
    assert 1.6 < power < 2.5
    assert expected_calibration_error(raw**power, ok) < expected_calibration_error(raw, ok)
    # One wrong reading is no evidence: no bending.
    assert fit_calibration([0.9] * 50 + [0.2], [True] * 50 + [False]) == 1.0
