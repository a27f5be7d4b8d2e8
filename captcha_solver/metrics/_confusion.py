"""Which characters get mistaken for which: confusion pairs and per-character accuracy."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from captcha_solver.metrics._edit import align
from captcha_solver.metrics._inputs import as_string_pairs

__all__ = ["confusion_pairs", "per_character_accuracy"]


def confusion_pairs(
    predictions: Iterable[str | None], labels: Iterable[str], top: int | None = 20
) -> list[tuple[tuple[str, str], int]]:
    """The most frequent substitutions ``(true_char, predicted_char)`` over all items.

    Only substitutions of the alignment count: a missed or an extra
    character has no partner to be confused with.

    Parameters
    ----------
    predictions : iterable of str or None
        Predicted texts; ``None`` counts as ``""``.
    labels : iterable of str
        True texts, same length as ``predictions``.
    top : int or None, optional
        Keep this many pairs; None keeps all.

    Returns
    -------
    list of ((str, str), int)
        Sorted by count (descending), then by pair, so ties are reproducible.

    Raises
    ------
    ValueError
        If the lengths differ, there are no items, or ``top`` is negative.
    TypeError
        If an item is not a string (or None for a prediction), or ``top`` is not an int.
    """
    if top is not None and (not isinstance(top, int) or isinstance(top, bool)):
        raise TypeError(f"top is {top!r} of type {type(top).__name__}; expected an int >= 0 or None")
    if top is not None and top < 0:
        raise ValueError(f"top is {top}; expected an int >= 0 or None")
    counts: Counter[tuple[str, str]] = Counter()
    for prediction, label in as_string_pairs(predictions, labels):
        counts.update(align(label, prediction).substitutions)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ranked if top is None else ranked[:top]


def per_character_accuracy(
    predictions: Iterable[str | None], labels: Iterable[str]
) -> dict[str, tuple[int, int]]:
    """For each label character: how often it was predicted correctly at its aligned place.

    Parameters
    ----------
    predictions : iterable of str or None
        Predicted texts; ``None`` counts as ``""``.
    labels : iterable of str
        True texts, same length as ``predictions``.

    Returns
    -------
    dict of str to (int, int)
        ``char -> (correct, total)``, total being the occurrences of the
        character in the labels; keys sorted.

    Raises
    ------
    ValueError
        If the lengths differ or there are no items.
    TypeError
        If an item is not a string (or None for a prediction).
    """
    correct: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for prediction, label in as_string_pairs(predictions, labels):
        for true_char, predicted_char in align(label, prediction).pairs:
            if true_char is None:
                continue  # an extra predicted character has no label character to score
            total[true_char] += 1
            correct[true_char] += true_char == predicted_char
    return {char: (correct[char], total[char]) for char in sorted(total)}
