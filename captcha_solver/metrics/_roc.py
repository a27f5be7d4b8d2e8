"""Macro one-vs-rest ROC AUC of a character classifier's probabilities."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

__all__ = ["UndefinedMetricWarning", "macro_roc_auc"]


class UndefinedMetricWarning(UserWarning):
    """A metric has no value on the given data (it is returned as nan); the message says why."""


def macro_roc_auc(y_true: Sequence, proba: np.ndarray, classes: Sequence) -> float:
    """Macro-averaged one-vs-rest ROC AUC over the classes present in ``y_true``.

    A validation split rarely holds every character, and a class with no
    positive has no ROC curve. Such classes are dropped: their columns are
    removed and each row is renormalised to sum to 1 (a row with no mass
    left becomes uniform, as it carries no ranking information), then
    :func:`sklearn.metrics.roc_auc_score` is applied with
    ``multi_class="ovr"``, ``average="macro"``. With exactly two present
    classes the one-vs-rest AUCs of both classes are equal, so the binary
    AUC is returned.

    Parameters
    ----------
    y_true : sequence
        True class of each sample, each one of ``classes``.
    proba : ndarray of shape (n_samples, n_classes)
        Predicted probabilities (or any scores >= 0), column ``k`` for ``classes[k]``.
    classes : sequence
        The distinct classes, in the column order of ``proba``.

    Returns
    -------
    float
        The AUC in ``[0, 1]``, or nan (with an :class:`UndefinedMetricWarning`
        saying why) if fewer than 2 classes are present in ``y_true``.

    Raises
    ------
    ValueError
        If shapes disagree, ``classes`` has duplicates, ``y_true`` holds a
        class not in ``classes``, or ``proba`` has negative or non-finite values.
    """
    # sklearn is a training-only dependency; inference never imports this module's callers.
    from sklearn.metrics import roc_auc_score

    classes = list(classes)
    y_true = list(y_true)
    proba = np.asarray(proba, dtype=np.float64)
    if len(set(classes)) != len(classes):
        duplicates = sorted({c for c in classes if classes.count(c) > 1}, key=repr)
        raise ValueError(f"classes must be distinct; {duplicates} appear more than once")
    if proba.ndim != 2 or proba.shape != (len(y_true), len(classes)):
        raise ValueError(
            f"proba has shape {proba.shape}; expected ({len(y_true)}, {len(classes)}) "
            f"= (len(y_true), len(classes))"
        )
    if not np.all(np.isfinite(proba)) or np.any(proba < 0):
        raise ValueError("proba has negative, nan or infinite values; expected finite probabilities >= 0")
    index = {c: k for k, c in enumerate(classes)}
    unknown = sorted({c for c in y_true if c not in index}, key=repr)
    if unknown:
        raise ValueError(
            f"y_true holds classes {unknown} that are not in classes; expected each to be one of classes"
        )

    present = sorted(set(y_true), key=lambda c: index[c])
    if len(present) < 2:
        reason = (
            f"macro ROC AUC is undefined: y_true holds {len(present)} distinct class(es) "
            f"{present} of {len(y_true)} sample(s); at least 2 are needed"
        )
        warnings.warn(reason, UndefinedMetricWarning, stacklevel=2)
        return math.nan

    # sklearn requires `labels` sorted, with the columns of y_score in that order.
    present = sorted(present)
    scores = proba[:, [index[c] for c in present]]
    mass = scores.sum(axis=1)
    empty = mass <= 0
    scores[empty] = 1.0
    mass[empty] = len(present)
    # Rows already summing to 1 are left as they are: dividing by 1 +- eps would
    # break exact ties between rows and shift the AUC by the tie's half-credit.
    rescale = ~np.isclose(mass, 1.0, rtol=0.0, atol=1e-9)
    scores[rescale] /= mass[rescale, None]
    if len(present) == 2:
        positive = np.array([c == present[1] for c in y_true])
        return float(roc_auc_score(positive, scores[:, 1]))
    return float(roc_auc_score(np.array(y_true), scores, multi_class="ovr", average="macro", labels=present))
