import pytest

from captcha_solver.metrics import confusion_pairs, per_character_accuracy

PREDICTIONS = ["0bc", "0b", "abd", "O1", None]
LABELS = ["obc", "ob", "abc", "01", "x"]
# Substitutions: o->0 (twice), c->d, 0->O; "x" against None is a deletion, not a confusion.


def test_confusion_pairs_sorted_by_count_then_pair():
    assert confusion_pairs(PREDICTIONS, LABELS) == [
        (("o", "0"), 2),
        (("0", "O"), 1),
        (("c", "d"), 1),
    ]


def test_confusion_pairs_top():
    assert confusion_pairs(PREDICTIONS, LABELS, top=1) == [(("o", "0"), 2)]
    assert confusion_pairs(PREDICTIONS, LABELS, top=0) == []
    assert len(confusion_pairs(PREDICTIONS, LABELS, top=None)) == 3


def test_insertions_and_deletions_are_not_confusions():
    assert confusion_pairs(["abcX", "a"], ["abc", "ab"]) == []


def test_per_character_accuracy_golden():
    assert per_character_accuracy(PREDICTIONS, LABELS) == {
        "0": (0, 1),
        "1": (1, 1),
        "a": (1, 1),
        "b": (3, 3),
        "c": (1, 2),
        "o": (0, 2),
        "x": (0, 1),
    }


def test_per_character_accuracy_ignores_extra_characters():
    assert per_character_accuracy(["abZ"], ["ab"]) == {"a": (1, 1), "b": (1, 1)}


def test_top_negative_rejected():
    with pytest.raises(ValueError, match=r"top is -1; expected an int >= 0 or None"):
        confusion_pairs(["a"], ["a"], top=-1)


def test_top_not_int_rejected():
    with pytest.raises(TypeError, match=r"top is 2.5 of type float; expected an int >= 0 or None"):
        confusion_pairs(["a"], ["a"], top=2.5)


@pytest.mark.parametrize("metric", [confusion_pairs, per_character_accuracy])
def test_mismatched_lengths_rejected(metric):
    with pytest.raises(ValueError, match=r"got 1 predictions and 2 labels"):
        metric(["a"], ["a", "b"])
