import math

import numpy as np
import pytest

from captcha_solver.metrics import UndefinedMetricWarning, macro_roc_auc


def test_perfect_ranking_is_one():
    proba = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]])
    assert macro_roc_auc(["a", "b", "c"], proba, ["a", "b", "c"]) == pytest.approx(1.0)


def test_golden_three_classes_unsorted_columns():
    # Columns in the order c, a, b; sklearn needs sorted labels, so they are reordered.
    classes = ["c", "a", "b"]
    y_true = ["a", "a", "b", "b", "c", "c"]
    proba = np.array(
        [
            [0.1, 0.6, 0.3],
            [0.2, 0.3, 0.5],  # rows sum to 1, so no renormalisation
            [0.1, 0.2, 0.7],
            [0.2, 0.2, 0.6],
            [0.7, 0.2, 0.1],
            [0.6, 0.1, 0.3],
        ]
    )
    # class a: positives 0.6, 0.3 vs negatives 0.2, 0.2, 0.2, 0.1 -> 8/8 = 1
    # class b: positives 0.7, 0.6 vs negatives 0.3, 0.5, 0.1, 0.3 -> 8/8 = 1
    # class c: positives 0.7, 0.6 vs negatives 0.1, 0.2, 0.1, 0.2 -> 1
    assert macro_roc_auc(y_true, proba, classes) == pytest.approx(1.0)
    proba[1] = [0.2, 0.1, 0.7]  # now this 'a' (0.1) ties one negative (0.1) and loses to three
    # class a: 0.6 beats all 4; 0.1 beats none, ties 1 -> (4 + 0.5) / 8
    # class b: positives 0.7 (ties one negative 0.7, beats 3), 0.6 (beats 3) vs 0.3, 0.7, 0.1, 0.3 -> 6.5 / 8
    expected_a = 4.5 / 8
    expected_b = 6.5 / 8
    expected_c = 1.0
    assert macro_roc_auc(y_true, proba, classes) == pytest.approx((expected_a + expected_b + expected_c) / 3)


def test_absent_classes_dropped_and_rows_renormalised():
    classes = ["a", "b", "c", "z"]
    y_true = ["a", "b", "c"]
    # Mass on the absent class 'z' must not matter.
    proba = np.array([[0.4, 0.05, 0.05, 0.5], [0.1, 0.3, 0.0, 0.6], [0.0, 0.1, 0.2, 0.7]])
    assert macro_roc_auc(y_true, proba, classes) == pytest.approx(1.0)


def test_two_present_classes_use_binary_auc():
    classes = ["a", "b", "c"]
    y_true = ["a", "a", "b", "b"]
    proba = np.array([[0.7, 0.2, 0.1], [0.3, 0.4, 0.3], [0.5, 0.4, 0.1], [0.1, 0.8, 0.1]])
    # Renormalised p(b): 2/9, 4/7, 4/9, 8/9; positives 4/9, 8/9 vs negatives 2/9, 4/7 -> 3/4.
    assert macro_roc_auc(y_true, proba, classes) == pytest.approx(0.75)


def test_row_without_mass_on_present_classes_becomes_uniform():
    classes = ["a", "b", "z"]
    proba = np.array([[0.9, 0.1, 0.0], [0.0, 0.0, 1.0], [0.2, 0.8, 0.0]])
    # Row 1 becomes (0.5, 0.5): p(b) = 0.1, 0.5, 0.8 with y = a, b, b -> 1.0
    assert macro_roc_auc(["a", "b", "b"], proba, classes) == pytest.approx(1.0)


def test_integer_classes():
    proba = np.eye(3)
    assert macro_roc_auc([2, 0, 1], proba[[2, 0, 1]], [0, 1, 2]) == pytest.approx(1.0)


def test_single_class_is_nan_with_reason():
    with pytest.warns(
        UndefinedMetricWarning, match=r"holds 1 distinct class\(es\) \['a'\] of 2 sample\(s\); at least 2"
    ):
        value = macro_roc_auc(["a", "a"], np.array([[0.9, 0.1], [0.8, 0.2]]), ["a", "b"])
    assert math.isnan(value)


def test_shape_mismatch_rejected():
    with pytest.raises(ValueError, match=r"proba has shape \(2, 3\); expected \(2, 2\)"):
        macro_roc_auc(["a", "b"], np.zeros((2, 3)), ["a", "b"])


def test_unknown_true_class_rejected():
    with pytest.raises(ValueError, match=r"y_true holds classes \['q'\] that are not in classes"):
        macro_roc_auc(["a", "q"], np.full((2, 2), 0.5), ["a", "b"])


def test_duplicate_classes_rejected():
    with pytest.raises(ValueError, match=r"classes must be distinct; \['a'\] appear more than once"):
        macro_roc_auc(["a", "b"], np.full((2, 3), 1 / 3), ["a", "b", "a"])


@pytest.mark.parametrize("bad", [-0.1, np.nan, np.inf])
def test_invalid_probabilities_rejected(bad):
    proba = np.array([[0.5, 0.5], [bad, 0.5]])
    with pytest.raises(
        ValueError, match=r"negative, nan or infinite values; expected finite probabilities >= 0"
    ):
        macro_roc_auc(["a", "b"], proba, ["a", "b"])
