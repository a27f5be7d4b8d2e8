"""The CTC probability of a text: equal to torch's CTC loss, -inf where no alignment exists."""

import numpy as np
import pytest

from captcha_solver.fusion import ctc_log_likelihood


def _log_softmax(x):
    x = x - x.max(axis=1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=1, keepdims=True))


def test_matches_torch_ctc_loss_for_several_labels_at_once():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    lp = _log_softmax(rng.normal(size=(30, 7)))
    labels = [[1, 2, 3], [1, 1], [6], [5, 4, 3, 2, 1, 1, 2]]
    mine = ctc_log_likelihood(lp, labels)
    for label, value in zip(labels, mine):
        ref = -torch.nn.functional.ctc_loss(
            torch.tensor(lp)[:, None, :],
            torch.tensor([label]),
            torch.tensor([30]),
            torch.tensor([len(label)]),
            reduction="sum",
        ).item()
        assert value == pytest.approx(ref, abs=1e-9)


def test_empty_label_is_the_all_blank_path_and_impossible_ones_are_minus_inf():
    rng = np.random.default_rng(1)
    lp = _log_softmax(rng.normal(size=(4, 5)))
    empty, too_long, repeats, unknown = ctc_log_likelihood(lp, [[], [1, 2, 3, 4, 1], [1, 1, 1], [9]])
    assert empty == pytest.approx(lp[:, 0].sum())
    assert too_long == -np.inf  # five characters cannot fit four frames
    assert repeats == -np.inf  # "aaa" needs a blank between repeats: 5 frames
    assert unknown == -np.inf  # class 9 of a 5-class reader


def test_probabilities_of_all_texts_sum_to_at_most_one():
    rng = np.random.default_rng(2)
    lp = _log_softmax(rng.normal(size=(3, 3)))
    texts = [[], [1], [2], [1, 1], [1, 2], [2, 1], [2, 2], [1, 2, 1], [2, 1, 2], [1, 1, 1], [2, 2, 2]]
    texts += [[1, 1, 2], [1, 2, 2], [2, 1, 1], [2, 2, 1]]
    total = np.exp(ctc_log_likelihood(lp, texts)).sum()
    assert total == pytest.approx(1.0)  # every path of 3 frames over 2 characters + blank is one of these


def test_rejects_a_one_dimensional_input():
    with pytest.raises(ValueError, match=r"must be \(T, C\)"):
        ctc_log_likelihood(np.zeros(5), [[1]])
