"""Whole-string and character-level accuracy of predicted captcha texts."""

from __future__ import annotations

from collections.abc import Iterable

from captcha_solver.metrics._edit import align, edit_distance
from captcha_solver.metrics._inputs import as_string_pairs, label_characters

__all__ = ["cer", "character_accuracy", "exact_accuracy", "summarize"]


def exact_accuracy(predictions: Iterable[str | None], labels: Iterable[str]) -> float:
    """Fraction of items whose prediction equals the label exactly (case-sensitive).

    Parameters
    ----------
    predictions : iterable of str or None
        Predicted texts; ``None`` (a failed item) counts as ``""``.
    labels : iterable of str
        True texts, same length as ``predictions``.

    Returns
    -------
    float
        In ``[0, 1]``.

    Raises
    ------
    ValueError
        If the lengths differ or there are no items.
    TypeError
        If an item is not a string (or None for a prediction).
    """
    pairs = as_string_pairs(predictions, labels)
    return sum(prediction == label for prediction, label in pairs) / len(pairs)


def character_accuracy(predictions: Iterable[str | None], labels: Iterable[str]) -> float:
    """Label characters predicted correctly at their aligned place, over all label characters.

    Each item contributes ``len(label) - substitutions - deletions`` of its
    Levenshtein alignment (see :func:`evaluation.align`); the sum is divided
    by the total number of label characters. Extra predicted characters do
    not lower it (they count in :func:`cer`).

    Parameters
    ----------
    predictions : iterable of str or None
        Predicted texts; ``None`` counts as ``""``.
    labels : iterable of str
        True texts, same length as ``predictions``.

    Returns
    -------
    float
        In ``[0, 1]``.

    Raises
    ------
    ValueError
        If the lengths differ, there are no items, or all labels are empty.
    TypeError
        If an item is not a string (or None for a prediction).
    """
    pairs = as_string_pairs(predictions, labels)
    total = label_characters(pairs)
    return sum(align(label, prediction).matches for prediction, label in pairs) / total


def cer(predictions: Iterable[str | None], labels: Iterable[str]) -> float:
    """Character error rate: total edit distance over total label characters.

    Parameters
    ----------
    predictions : iterable of str or None
        Predicted texts; ``None`` counts as ``""``.
    labels : iterable of str
        True texts, same length as ``predictions``.

    Returns
    -------
    float
        ``>= 0``; may exceed 1 when predictions carry many extra characters.

    Raises
    ------
    ValueError
        If the lengths differ, there are no items, or all labels are empty.
    TypeError
        If an item is not a string (or None for a prediction).
    """
    pairs = as_string_pairs(predictions, labels)
    total = label_characters(pairs)
    return sum(edit_distance(label, prediction) for prediction, label in pairs) / total


def summarize(predictions: Iterable[str | None], labels: Iterable[str]) -> dict[str, float | int]:
    """The headline metrics of an evaluation, in one dict.

    Parameters
    ----------
    predictions : iterable of str or None
        Predicted texts; ``None`` counts as ``""``.
    labels : iterable of str
        True texts, same length as ``predictions``.

    Returns
    -------
    dict
        ``n`` (items), ``exact_accuracy``, ``character_accuracy`` and ``cer``.

    Raises
    ------
    ValueError
        If the lengths differ, there are no items, or all labels are empty.
    TypeError
        If an item is not a string (or None for a prediction).
    """
    # Listed once so that one-shot iterables (generators) feed all three metrics.
    predictions, labels = list(predictions), list(labels)
    return {
        "n": len(as_string_pairs(predictions, labels)),
        "exact_accuracy": exact_accuracy(predictions, labels),
        "character_accuracy": character_accuracy(predictions, labels),
        "cer": cer(predictions, labels),
    }
