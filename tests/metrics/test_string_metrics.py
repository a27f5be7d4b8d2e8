import math

import pytest

from captcha_solver.metrics import cer, character_accuracy, exact_accuracy, summarize

PREDICTIONS = ["abc", None, "xbcd", "ABC"]
LABELS = ["abc", "ab", "abc", "abc"]
# Hand-computed per item (label chars, aligned correct, edit distance):
#   abc  / abc  : 3, 3, 0
#   ab   / None : 2, 0, 2  (None counts as "")
#   abc  / xbcd : 3, 2, 2  (a->x substitution, extra d)
#   abc  / ABC  : 3, 0, 3  (case-sensitive)
LABEL_CHARS = 11


def test_exact_accuracy_is_case_sensitive_and_none_is_wrong():
    assert exact_accuracy(PREDICTIONS, LABELS) == pytest.approx(1 / 4)


def test_character_accuracy_golden():
    assert character_accuracy(PREDICTIONS, LABELS) == pytest.approx(5 / LABEL_CHARS)


def test_cer_golden():
    assert cer(PREDICTIONS, LABELS) == pytest.approx(7 / LABEL_CHARS)


def test_cer_can_exceed_one_but_character_accuracy_cannot():
    assert cer(["aXXXXX"], ["ab"]) == pytest.approx(5 / 2)
    assert character_accuracy(["aXXXXX"], ["ab"]) == pytest.approx(1 / 2)


def test_character_accuracy_prefers_alignment_with_most_matches():
    # "ab" -> "ba": distance 2 either way (two substitutions, or delete+match+insert);
    # the alignment keeping the 'b' match is used.
    assert character_accuracy(["ba"], ["ab"]) == pytest.approx(1 / 2)


def test_perfect_and_all_failed():
    assert summarize(["a1", "b2"], ["a1", "b2"]) == {
        "n": 2,
        "exact_accuracy": 1.0,
        "character_accuracy": 1.0,
        "cer": 0.0,
    }
    result = summarize([None, None], ["a1", "b2"])
    assert result["exact_accuracy"] == 0.0
    assert result["character_accuracy"] == 0.0
    assert result["cer"] == 1.0


def test_summarize_golden_and_accepts_generators():
    result = summarize((p for p in PREDICTIONS), (label for label in LABELS))
    assert result["n"] == 4
    assert result["exact_accuracy"] == pytest.approx(0.25)
    assert result["character_accuracy"] == pytest.approx(5 / 11)
    assert result["cer"] == pytest.approx(7 / 11)
    assert all(isinstance(v, float) and not math.isnan(v) for k, v in result.items() if k != "n")


@pytest.mark.parametrize("metric", [exact_accuracy, character_accuracy, cer, summarize])
def test_mismatched_lengths_name_both(metric):
    with pytest.raises(ValueError, match=r"got 3 predictions and 2 labels"):
        metric(["a", "b", "c"], ["a", "b"])


@pytest.mark.parametrize("metric", [exact_accuracy, character_accuracy, cer, summarize])
def test_empty_input_rejected(metric):
    with pytest.raises(ValueError, match=r"empty; expected at least one item"):
        metric([], [])


@pytest.mark.parametrize("metric", [character_accuracy, cer])
def test_all_empty_labels_rejected(metric):
    with pytest.raises(
        ValueError, match=r"all 2 labels are empty strings; expected at least one label character"
    ):
        metric(["a", ""], ["", ""])


def test_non_string_prediction_rejected():
    with pytest.raises(TypeError, match=r"prediction 1 is 7 of type int; expected a str or None"):
        exact_accuracy(["a", 7], ["a", "b"])


def test_non_string_label_rejected():
    with pytest.raises(TypeError, match=r"label 0 is None of type NoneType; expected a str"):
        cer(["a"], [None])
