"""Pseudo-labels for self-training: the unlabelled captchas, the confidence threshold, and which readings to keep.

Pure bookkeeping around a model's readings: :func:`unlabelled_files` lists
the unlabelled folder (less the captchas the labelled folder already
holds), :func:`pick_threshold` chooses on validation readings the lowest
confidence above which readings are right at least as often as asked,
:func:`fits_labels` says whether a reading could be a label of the style,
and :func:`pseudo_labelled` names the kept captchas ``<text>.<ext>`` (links)
so that both readers' training reads them like labelled ones.
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from captcha_solver.image_io import EmptyDatasetError, list_dataset
from captcha_solver.metrics import wilson_interval
from captcha_solver.settings import Config

__all__ = [
    "confused_groups",
    "expected_threshold",
    "fits_labels",
    "pick_threshold",
    "pseudo_labelled",
    "unlabelled_files",
]


def _digest(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def unlabelled_files(
    folder: str | Path, labelled: Sequence[str], cfg: Config
) -> tuple[list[str], list[tuple[str, str]]]:
    """The image files of the unlabelled folder, and the entries left out with the reason.

    A file whose bytes are those of a labelled captcha (the same file, or a
    copy that was labelled) is left out: it is not used twice.

    Raises
    ------
    FileNotFoundError, NotADirectoryError
        If the folder is missing or is a file (the message names it and ``--unlabelled``).
    ValueError
        If it holds no image that is not also labelled.
    """
    where = f"unlabelled folder {folder} (train --unlabelled, training.unlabelled)"
    if not Path(folder).exists():
        raise FileNotFoundError(f"{where} not found")
    if not Path(folder).is_dir():
        raise NotADirectoryError(f"{where} is a file, expected a folder of captcha images")
    try:
        images, rejected = list_dataset(folder, cfg.input)
    except EmptyDatasetError as exc:
        raise ValueError(f"{where} is empty: {exc}") from exc
    skipped = [(str(p), reason) for p, reason in rejected]
    known = {}
    for path in labelled:
        try:
            known[_digest(path)] = path
        except OSError:  # an unreadable labelled file is the labelled listing's to report
            continue
    kept = []
    for path in images:
        try:
            twin = known.get(_digest(path))
        except OSError as exc:
            skipped.append((str(path), f"cannot be read ({exc})"))
            continue
        if twin is not None:
            skipped.append((str(path), f"is the labelled captcha {twin}: not used twice"))
        else:
            kept.append(str(path))
    if not kept:
        raise ValueError(
            f"{where} holds no image to self-train on ({len(skipped)} entries left out"
            + (f", e.g. {skipped[0][0]}: {skipped[0][1]})" if skipped else ")")
        )
    return kept, skipped


def fits_labels(text: str, charset: str, lengths: Iterable[int | str]) -> bool:
    """Whether a reading could be a label of the style: a length the labels have, only their characters."""
    return bool(text) and len(text) in {int(n) for n in lengths} and set(text) <= set(charset)


def confused_groups(readings: Iterable[tuple[str, str]], min_count: int) -> tuple[str, ...]:
    """The characters a model reads as one another: groups of them, from (label, reading) pairs.

    A reading of the label's length that has character ``b`` where the label
    has ``a`` counts once for the pair {a, b}; pairs counted at least
    ``min_count`` times join (with every pair they share a character with)
    into one group. ImageCaptcha's 0 and O are such a pair: a model trained
    on 1,000 labels gets about one in five of them wrong, and self-training
    on its own 0/O readings made it worse (64 to 77 captchas wrong).

    Returns
    -------
    tuple of str
        Each group's characters sorted, the groups sorted; empty when ``min_count`` is 0 or no pair reaches it.
    """
    if min_count <= 0:
        return ()
    counts: dict[frozenset, int] = {}
    for label, text in readings:
        if len(label) != len(text):
            continue
        for a, b in zip(label, text):
            if a != b:
                pair = frozenset((a, b))
                counts[pair] = counts.get(pair, 0) + 1
    groups: list[set[str]] = []
    for pair, n in sorted(counts.items(), key=lambda kv: sorted(kv[0])):
        if n < min_count:
            continue
        touching = [g for g in groups if g & pair]
        merged = set(pair).union(*touching)
        groups = [g for g in groups if not g & pair] + [merged]
    return tuple(sorted("".join(sorted(g)) for g in groups))


def pick_threshold(confidences, correct, target: float, *, min_above: int = 1, upper: bool = False) -> dict:
    """The lowest confidence above which validation readings are right at least ``target`` of the time.

    With ``upper``, "at least ``target``" means that the validation readings
    do not contradict it: the upper end of the 95% Wilson interval of their
    precision reaches ``target``. A run of 100 labelled captchas validates on
    20; one confident mistake among them would otherwise stop any reading
    from being kept (19 of 20 right is 0.95, yet consistent with 0.99).

    Parameters
    ----------
    confidences : sequence of float
        Confidence of each validation reading that fits the labels (others are never kept).
    correct : sequence of bool
        Whether each of those readings is its label.
    target : float
        The precision asked for (``training.pseudo_label_precision``).
    min_above : int
        Fewest validation readings at or above the threshold: a precision
        measured on one or two readings says nothing.

    Returns
    -------
    dict
        ``threshold`` (keep readings with confidence >= it; ``inf`` when no
        confidence reaches the target: keep none), ``val_precision`` (the
        precision of the validation readings at or above it, NaN if none),
        ``val_above`` (how many there are) and ``val_n`` (readings considered).
    """
    conf = np.asarray(confidences, dtype=np.float64)
    ok = np.asarray(correct, dtype=bool)
    best = {"threshold": math.inf, "val_precision": float("nan"), "val_above": 0, "val_n": int(conf.size)}
    # Cut only between distinct confidences: a cut inside a tie would keep some of its wrong readings.
    for t in np.unique(conf):
        above = conf >= t
        if above.sum() < min_above:
            break  # higher thresholds keep even fewer
        precision = float(ok[above].mean())
        reach = wilson_interval(int(ok[above].sum()), int(above.sum()))[1] if upper else precision
        if reach >= target:
            return {**best, "threshold": float(t), "val_precision": precision, "val_above": int(above.sum())}
    return best


def expected_threshold(confidences, target: float) -> dict:
    """The lowest confidence above which the readings' mean confidence still reaches ``target``.

    The confidences are calibrated on validation (a fitted power of the
    per-character product), so their mean over the kept readings estimates
    the share of them that is right. Unlike :func:`pick_threshold`, which a
    handful of validation captchas decides, this estimate is taken over all
    the unlabelled readings; self-training keeps a reading only above both.

    Returns
    -------
    dict
        ``threshold`` (``inf`` when even the surest reading is below ``target``)
        and ``expected_precision`` (the mean confidence at or above it; NaN if none).
    """
    conf = np.asarray(confidences, dtype=np.float64)
    best = {"threshold": math.inf, "expected_precision": float("nan")}
    # Cut only between distinct confidences (as pick_threshold does); the mean over the readings at or above
    # a cut only falls as the cut is lowered, so the last cut that reaches the target is the lowest.
    for t in np.unique(conf)[::-1]:
        mean = float(conf[conf >= t].mean())
        if mean < target:
            break
        best = {"threshold": float(t), "expected_precision": mean}
    return best


def pseudo_labelled(readings: Sequence[tuple[str, str]], folder: Path) -> list[str]:
    """Name each kept captcha by its pseudo-label: ``folder/<i>/<text><ext>``, a link to it (a copy if links fail).

    One sub-folder per captcha: two captchas read as the same text keep both.
    Returns the new paths, in the order of ``readings`` (``(path, text)`` pairs).
    """
    out = []
    for i, (path, text) in enumerate(readings):
        slot = folder / str(i)
        slot.mkdir(parents=True, exist_ok=True)
        name = slot / f"{text}{Path(path).suffix}"
        try:
            os.symlink(Path(path).resolve(), name)
        except OSError:  # no symbolic links on this file system
            shutil.copyfile(path, name)
        out.append(str(name))
    return out
