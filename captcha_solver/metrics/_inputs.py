"""Checking and normalising the (predictions, labels) pair every string metric takes."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["as_string_pairs", "label_characters"]


def as_string_pairs(predictions: Iterable[str | None], labels: Iterable[str]) -> list[tuple[str, str]]:
    """Pair predictions with labels, with ``None`` predictions read as empty strings.

    A ``None`` prediction is an item the solver failed on (unreadable image,
    nothing segmented); counting it as ``""`` makes it wrong in full rather
    than silently dropping it, which would inflate every metric.

    Parameters
    ----------
    predictions : iterable of str or None
        Predicted texts, one per item.
    labels : iterable of str
        True texts, same order and length as ``predictions``.

    Returns
    -------
    list of (str, str)
        ``(prediction, label)`` per item.

    Raises
    ------
    ValueError
        If the two have different lengths, or there are no items.
    TypeError
        If a prediction is neither a string nor None, or a label is not a string.
    """
    predictions = list(predictions)
    labels = list(labels)
    if len(predictions) != len(labels):
        raise ValueError(
            f"predictions and labels must have the same length; got {len(predictions)} predictions "
            f"and {len(labels)} labels"
        )
    if not labels:
        raise ValueError("predictions and labels are empty; expected at least one item")
    pairs = []
    for index, (prediction, label) in enumerate(zip(predictions, labels)):
        if prediction is None:
            prediction = ""
        elif not isinstance(prediction, str):
            raise TypeError(
                f"prediction {index} is {prediction!r} of type {type(prediction).__name__}; expected a str or None"
            )
        if not isinstance(label, str):
            raise TypeError(f"label {index} is {label!r} of type {type(label).__name__}; expected a str")
        pairs.append((prediction, label))
    return pairs


def label_characters(pairs: list[tuple[str, str]]) -> int:
    """Total number of label characters; a ratio over zero characters has no meaning.

    Raises
    ------
    ValueError
        If every label is the empty string.
    """
    total = sum(len(label) for _, label in pairs)
    if total == 0:
        raise ValueError(f"all {len(pairs)} labels are empty strings; expected at least one label character")
    return total
