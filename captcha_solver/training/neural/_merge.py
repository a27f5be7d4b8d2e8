"""Merged classes: characters that a label may name only as a group (a pseudo-label's 0 or O).

A pseudo-label is the model's own reading. Where the model cannot tell two
characters apart (ImageCaptcha's 0 and O), training on its reading teaches
its own guess back to it. Such a character is written in the training label
as its group's placeholder (a private-use character, one per group), which
splicing carries through its cuts like any character. For the loss,
:func:`fold` gives a captcha whose label has a placeholder one class for the
group: the first member's column holds the members' summed probability and
the others' columns are empty, so the loss asks for "0 or O" there and
leaves which of the two to the labelled captchas.

The folded rows still sum to one per frame. That matters: torch's CTC loss
returns the gradient for log-probabilities that come from a softmax (it adds
their probabilities back), and an extra "0 or O" column beside the others
gives a wrong gradient (0.2 off against finite differences on a 9-frame
example). The splicing alignment, a Viterbi search without gradients, reads
the placeholder on an extra column instead (:func:`with_merged_np`).
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["class_index", "fold", "merged_label", "with_merged_np"]

#: First placeholder character (Unicode private use area): group ``g`` is ``chr(_PLACEHOLDER + g)``.
_PLACEHOLDER = 0xE000


def merged_label(label: str, groups: tuple[str, ...]) -> str:
    """``label`` with every character of a group replaced by the group's placeholder."""
    where = {ch: chr(_PLACEHOLDER + g) for g, group in enumerate(groups) for ch in group}
    return "".join(where.get(ch, ch) for ch in label)


def class_index(charset: str, groups: tuple[str, ...] = ()) -> dict[str, int]:
    """Class of each character (``charset[i]`` is ``i + 1``; 0 is the blank) and of each group's placeholder.

    Group ``g``'s placeholder is the column :func:`with_merged_np` appends:
    ``len(charset) + 1 + g``.
    """
    index = {ch: i + 1 for i, ch in enumerate(charset)}
    index.update({chr(_PLACEHOLDER + g): len(charset) + 1 + g for g in range(len(groups))})
    return index


def _members(charset: str, groups: tuple[str, ...]) -> list[list[int]]:
    index = class_index(charset)
    missing = sorted({ch for group in groups for ch in group} - set(index))
    if missing:
        raise ValueError(f"merged characters {''.join(missing)!r} are not in the charset {charset!r}")
    return [[index[ch] for ch in group] for group in groups]


def fold(
    log_probs: torch.Tensor, labels: list[str], charset: str, groups: tuple[str, ...]
) -> tuple[torch.Tensor, list[str]]:
    """Log-probabilities and labels of a batch with each merged group one class where a label has its placeholder.

    Parameters
    ----------
    log_probs : (N, T, C) tensor
        The network's per-frame log-softmax.
    labels : list of str
        The batch's labels; placeholders mark merged characters.

    Returns
    -------
    log_probs : (N, T, C) tensor
        In the rows whose label has group ``g``'s placeholder, the group's
        first member's column is the log of the members' summed probability
        and the other members' columns are -inf (each frame still sums to one).
    labels : list of str
        In those rows the placeholder, and any plain member of the group (a
        splice's labelled part), are the first member: every label is in the charset.
    """
    if not groups:
        return log_probs, labels
    out, labels = log_probs, list(labels)
    for g, ids in enumerate(_members(charset, groups)):
        mark = chr(_PLACEHOLDER + g)
        rows = [i for i, label in enumerate(labels) if mark in label]
        if not rows:
            continue
        row = torch.zeros(log_probs.shape[0], 1, 1, dtype=torch.bool, device=log_probs.device)
        row[rows] = True
        merged = torch.logsumexp(out[..., ids], dim=-1)
        first = torch.where(row[..., 0], merged, out[..., ids[0]])
        out = out.clone()  # the network's output stays as it was: autograd sees a copy written to
        out[..., ids[0]] = first
        emptied = torch.zeros(out.shape[-1], dtype=torch.bool, device=out.device)
        emptied[ids[1:]] = True
        out = out.masked_fill(row & emptied, float("-inf"))
        to_first = {ch: groups[g][0] for ch in groups[g] + mark}
        for i in rows:
            labels[i] = "".join(to_first.get(ch, ch) for ch in labels[i])
    return out, labels


def with_merged_np(log_probs: np.ndarray, charset: str, groups: tuple[str, ...]) -> np.ndarray:
    """``log_probs`` (classes last) with one more column per group: the log of its members' summed probability."""
    if not groups:
        return log_probs
    extra = [
        np.logaddexp.reduce(log_probs[..., ids], axis=-1)[..., None] for ids in _members(charset, groups)
    ]
    return np.concatenate([log_probs, *extra], axis=-1)
