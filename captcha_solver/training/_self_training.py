"""Self-training: read unlabelled captchas with the model trained so far, keep the sure readings, train again.

After the first training on the labelled captchas, each round reads the
validation captchas (the labelled hold-out) and the unlabelled ones with the
model trained so far, through the same :class:`captcha_solver.inference.Model`
that ``predict`` uses (fused when both readers are trained). A reading
becomes a pseudo-label only if it could be a label of the style (a length
and characters the labels have), the model reads the same text in four
slightly shifted and scaled views of it (:mod:`._views`: confidence does not
see a character dropped where two glyphs overlap), and its confidence
reaches two thresholds:
the one at which the validation readings do not contradict a precision of
``training.pseudo_label_precision`` (the upper end of their 95% Wilson
interval reaches it), and the one at which the kept readings' mean
calibrated confidence, an estimate of their precision taken over all of
them, still reaches it. The readers are then trained again on the labelled training
captchas plus the pseudo-labelled ones (the neural reader starts from the
last round's weights); pseudo-labelled captchas never enter validation.
When the budget affords it (``training.second_opinion``), a second model is
first trained on the labels alone with the next training seed, and a reading
becomes a pseudo-label only if that model reads the same text too, in every
round: a confusion one training run makes consistently passes the views and
the thresholds (on 536 unlabelled real-site captchas, one seed's first model
read 41 of 269 n as m), while two runs rarely share it (both models agreed
on 474 of the 536, 469 of them right, one n read as m).
Characters the model reads as one another on the validation captchas
(``training.pseudo_label_merge`` times or more, e.g. ImageCaptcha's 0 and O)
are one class in the pseudo-labels' loss: the model's own guess between
them is never taught back to it, only the labels tell them apart.
Rounds go on while the budget allows, up to ``training.self_training_rounds``;
a round that keeps no reading ends them (training again on the same captchas
would learn nothing new).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from captcha_solver.artifacts import NEURAL_MODEL, Manifest
from captcha_solver.image_io import ImageDecodeError, label_from_path
from captcha_solver.inference import Model
from captcha_solver.settings import Config
from captcha_solver.training._noise import error_count, within_noise
from captcha_solver.training._plan import large_rounds
from captcha_solver.training._pseudo import (
    confused_groups,
    expected_threshold,
    fits_labels,
    pick_threshold,
    pseudo_labelled,
)
from captcha_solver.training._views import augmented_views

__all__ = ["FIRST_SHARE", "Round", "published_round", "self_train"]

#: Fewest seconds of budget (beyond the reserve) worth another round of reading and training.
MIN_ROUND_SECONDS = 90.0
#: Part of the budget the first training (labelled captchas alone) gets: the model that reads first must
#: be good, later rounds start from its weights and need less time each.
FIRST_SHARE = 0.5
#: Fewest validation readings a threshold is chosen on (see :func:`pick_threshold`).
MIN_VAL_ABOVE = 5
#: The second opinion's epochs, as a share of the first training's: it needs its own errors, not the best
#: model (on the real-site style, 100 labels, a full second training made the run take 13-15 min).
SECOND_EPOCHS = 0.5
#: Slack on the second opinion's expected time (the first training's, scaled by :data:`SECOND_EPOCHS`).
SECOND_SLACK = 1.25


@dataclass
class Round:
    """One trained set of readers: its draft manifest entries and artifact files."""

    draft: dict
    files: dict
    record: dict = field(default_factory=dict)
    seconds: float = 0.0  # how long its training took

    @property
    def val_exact(self) -> float:
        return float(self.draft.get("metrics", {}).get("val_exact", float("nan")))


@dataclass(frozen=True)
class _Reading:
    path: str
    text: str
    confidence: float
    fits: bool  # a length and characters the labels have
    steady: bool  # it fits and every augmented view reads the same text: a candidate pseudo-label


def _read(
    model: Model, paths: Sequence[str], charset: str, lengths, views: bool = True
) -> tuple[list[_Reading], list[tuple[str, str]]]:
    """How the model reads each file (and its views), and the files it cannot decode with the reason.

    A captcha in which the model finds no text is a reading (never kept), not an unreadable file.
    Views are read only for readings that fit the labels (the others are never kept), and only if ``views``.
    """
    readings, failed = [], []
    for path in paths:
        try:
            rgb = model.decode(path, name=path)
        except (ImageDecodeError, OSError) as exc:
            failed.append((path, str(exc)))
            continue
        result = model.read(rgb)
        fits = fits_labels(result.text, charset, lengths)
        steady = fits and (
            not views or all(model.read(view).text == result.text for view in augmented_views(rgb))
        )
        readings.append(_Reading(path, result.text, result.confidence, fits, steady))
    return readings, failed


def _model(trained: Round, cfg: Config) -> Model:
    """The round's readers loaded as ``predict`` loads them."""
    return Model.from_files(Manifest.from_entries(trained.draft, trained.files), trained.files, cfg)


def _second_opinion(
    first: Round, train_round, labelled_train: Sequence[str], pool: int, cfg: Config, seconds_left, logger
) -> tuple[Round | None, dict]:
    """A second model trained on the labels alone with the next seed, or None; the manifest's record of it.

    It is trained with :data:`SECOND_EPOCHS` of the first training's epochs, and only if what the budget
    leaves pays for it (that share of the first training's time, with :data:`SECOND_SLACK`) and for two rounds
    after it: on large sets, where the first training takes its whole share, the rounds keep the time.
    Nor is it trained when the rounds are large (``LARGE_SET`` captchas or more with the ``pool``
    unlabelled ones): they then fill what the budget leaves, so its time would come out of theirs. On
    ImageCaptcha, 1,000 labelled + 8,996 unlabelled, a run with it read 87.6% of fresh captchas against
    91.6% for the same seed without it (89.3-91.6% over three seeds), with more readings of the wrong length.
    """
    cost, left = SECOND_SLACK * SECOND_EPOCHS * first.seconds, seconds_left()
    why = None
    if not cfg.training.second_opinion:
        why = "training.second_opinion is false"
    elif NEURAL_MODEL not in first.files:  # the classical reader's fit barely depends on the seed
        why = "no neural reader: another seed would give the same readings"
    elif large_rounds(len(labelled_train), pool):
        why = f"rounds of {len(labelled_train) + pool} captchas fill the budget: the time is theirs"
    elif left < cost + 2 * MIN_ROUND_SECONDS:
        why = (
            f"the budget: {max(left, 0):.0f} s left, the labelled-only training took {first.seconds:.0f} s and "
            f"two rounds need {2 * MIN_ROUND_SECONDS:.0f} s more"
        )
    if why is not None:
        logger.info("self-training: no second opinion (%s)", why)
        return None, {"trained": False, "why": why}
    seed = cfg.training.seed + 1
    # cfg is the plan's: its neural.epochs are the first training's.
    epochs = max(1, round(SECOND_EPOCHS * cfg.neural.epochs))
    changes = {"training.seed": seed, "neural.epochs": epochs}
    second = train_round(list(labelled_train), min(FIRST_SHARE, cost / left), None, None, changes)
    logger.info(
        "self-training: second opinion trained on the %d labelled captchas with training seed %d, %d epochs, in "
        "%.0f s, validation exact %.4f (the first: %.4f); pseudo-labels need both readings",
        len(labelled_train), seed, epochs, second.seconds, second.val_exact, first.val_exact,
    )  # fmt: skip
    record = {
        "trained": True,
        "seed": seed,
        "epochs": epochs,
        "seconds": round(second.seconds, 1),
        "val_exact": second.val_exact,
    }
    return second, record


def published_round(val_exact: Sequence[float], n_val: int) -> tuple[int, str]:
    """Which round to publish (0: the labelled-only one) and why, from each round's validation exact accuracy.

    The latest round whose validation errors exceed the fewest by no more than the noise of comparing two
    readers on the same ``n_val`` captchas: one captcha, or the square root of both error counts if more (the
    spread of their difference when the captchas each gets wrong are apart). Each round trains on more
    captchas, and a round is published over a later one only when validation clearly says so. A round
    without a validation figure counts as reading none right.

    With 100 real-site labels (20 validation captchas) the best-on-validation rule once published round 2
    because round 3 read one validation captcha wrong; round 2 read 10 of the run's 536 unlabelled captchas
    wrong (read under their true names after training) where the same run without the second opinion, round 3,
    read 1. Over eight runs whose every round was kept, those errors never rose from one round to the next up
    to round 3 (e.g. 54, 13, 11, 4 and 36, 22, 7, 4) while validation read all or all but one throughout.
    """
    errors = [error_count(v, n_val) for v in val_exact]
    fewest = min(errors)
    number = max(k for k, e in enumerate(errors) if within_noise(e, fewest))
    why = (
        f"validation errors by round {errors} of {n_val}: the latest within the noise of the fewest, {fewest} "
        "(one captcha, or the square root of both counts)"
    )
    return number, why


def _mean(values: list[float]) -> float:
    return float(sum(values) / len(values)) if values else float("nan")


def _shown(threshold: float | None) -> str:
    return "none" if threshold is None else f"{threshold:.4f}"


def self_train(
    first: Round,
    train_round: Callable[..., Round],
    *,
    labelled_train: Sequence[str],
    val_paths: Sequence[str],
    unlabelled: Sequence[str],
    cfg: Config,
    seconds_left: Callable[[], float],
    work: Path,
    logger,
) -> tuple[Round, dict, list[tuple[str, str]]]:
    """Rounds of pseudo-labelling and training after the first training; the round published and the record.

    Parameters
    ----------
    first : Round
        The readers trained on the labelled captchas alone.
    train_round : callable
        ``train_round(train_paths, share, init_from, merged)`` trains the readers on
        ``train_paths`` (validated on ``val_paths``) with ``share`` of the
        budget left and returns the new :class:`Round`; ``init_from`` is the
        folder of the previous neural run to start from (None: none);
        ``merged`` is ``(pseudo-labelled paths, groups)`` or None (no group).
    labelled_train, val_paths : sequence of str
        The run's split of the labelled captchas.
    unlabelled : sequence of str
        The unlabelled captchas (:func:`captcha_solver.training._pseudo.unlabelled_files`).
    cfg : Config
        The run's resolved settings (``training.pseudo_label_precision``, ``training.self_training_rounds``).
    seconds_left : callable
        Seconds of the budget left for training rounds (the reserve for publication taken off).
    work : Path
        Where the pseudo-labelled links are made (one sub-folder per round).
    logger : logging.Logger

    Returns
    -------
    published : Round
        The round :func:`published_round` chooses: the latest unless validation clearly says otherwise.
    record : dict
        The manifest's ``self_training`` section.
    unreadable : list of (str, str)
        Unlabelled files the model could not read, each once, with the reason.
    """
    target = cfg.training.pseudo_label_precision
    most = cfg.training.self_training_rounds
    charset, lengths = first.draft["labels"]["charset"], first.draft["labels"]["lengths"]
    rounds: list[dict] = []
    unreadable: dict[str, str] = {}
    current = first
    trained = [first]  # every round's readers, the labelled-only ones first
    pool = list(unlabelled)
    stopped = f"{most} rounds (training.self_training_rounds)"
    second, opinion = _second_opinion(
        first, train_round, labelled_train, len(pool), cfg, seconds_left, logger
    )
    # The second opinion's reading of every captcha, read once: it never changes.
    others = {}
    if second is not None:
        others = {
            r.path: r.text
            for r in _read(_model(second, cfg), [*val_paths, *pool], charset, lengths, False)[0]
        }

    def agrees(reading: _Reading) -> bool:
        return second is None or others.get(reading.path) == reading.text

    for number in range(1, most + 1):
        if seconds_left() < MIN_ROUND_SECONDS:
            stopped = f"the budget: {max(seconds_left(), 0):.0f} s left before round {number}"
            break
        model = _model(current, cfg)
        val, _ = _read(model, val_paths, charset, lengths)
        steady = [r for r in val if r.steady and agrees(r)]
        picked = pick_threshold(
            [r.confidence for r in steady],
            [r.text == label_from_path(r.path) for r in steady],
            target,
            min_above=MIN_VAL_ABOVE,
            upper=True,
        )
        groups = confused_groups(
            [(label_from_path(r.path), r.text) for r in val], cfg.training.pseudo_label_merge
        )
        readings, failed = _read(model, pool, charset, lengths)
        unreadable.update((p, why) for p, why in failed if p not in unreadable)
        pool = [p for p in pool if p not in unreadable]
        candidates = [r for r in readings if r.steady and agrees(r)]
        expected = expected_threshold([r.confidence for r in candidates], target)
        threshold = max(picked["threshold"], expected["threshold"])
        kept = [(r.path, r.text) for r in candidates if r.confidence >= threshold]
        record = {
            "round": number,
            "target_precision": target,
            **picked,
            "val_threshold": picked["threshold"] if math.isfinite(picked["threshold"]) else None,
            "expected_threshold": expected["threshold"] if math.isfinite(expected["threshold"]) else None,
            "threshold": threshold if math.isfinite(threshold) else None,
            "expected_precision": _mean([r.confidence for r in candidates if r.confidence >= threshold]),
            "read": len(readings),
            "views_disagree": sum(r.fits and not r.steady for r in readings),
            "second_opinion_disagrees": sum(r.steady and not agrees(r) for r in readings),
            "merged": list(groups),
            "kept": len(kept),
            "val_exact_before": current.val_exact,
        }
        logger.info(
            "self-training round %d: threshold %s (validation readings at or above %s right %.4f of %d; "
            "the kept readings' mean confidence %.4f reaches the target from %s), kept %d of %d unlabelled "
            "captchas read (%d left out: their augmented views read another text; %d: the second opinion reads "
            "another text)",
            number,
            "none reaches the target" if record["threshold"] is None else f"{record['threshold']:.4f}",
            _shown(record["val_threshold"]),
            picked["val_precision"],
            picked["val_above"],
            record["expected_precision"],
            _shown(record["expected_threshold"]),
            len(kept),
            len(readings),
            record["views_disagree"],
            record["second_opinion_disagrees"],
        )
        if not kept:
            rounds.append(record)
            stopped = f"round {number} kept no pseudo-label"
            break
        links = pseudo_labelled(kept, work / f"round-{number}")
        init = current.files.get(NEURAL_MODEL)
        # Equal shares of what is left for the rounds still allowed (the last one takes the rest).
        share = 1.0 / (most - number + 1)  # of what is left (the first training took FIRST_SHARE)
        if seconds_left() * (1 - share) < 2 * MIN_ROUND_SECONDS:
            share = 1.0  # what would be left could not pay for another round: this one takes it
        if groups:
            logger.info(
                "self-training round %d: the validation readings confuse %s (%d times or more): one class each "
                "in the pseudo-labels' loss",
                number,
                ", ".join(groups),
                cfg.training.pseudo_label_merge,
            )
        current = train_round(
            list(labelled_train) + links,
            share,
            Path(init).parent if init else None,
            (links, groups) if groups else None,
        )
        record["val_exact_after"] = current.val_exact
        rounds.append(record)
        logger.info(
            "self-training round %d: trained on %d labelled + %d pseudo-labelled captchas, validation exact "
            "%.4f (before %.4f)",
            number,
            len(labelled_train),
            len(kept),
            current.val_exact,
            record["val_exact_before"],
        )
        trained.append(current)
    chosen, why = published_round([r.val_exact for r in trained], len(val_paths))
    logger.info("self-training: stopped after %s; publishing round %d (%s)", stopped, chosen, why)
    section = {
        "folder": "",
        "target_precision": target,
        "unlabelled": len(unlabelled),
        "unreadable": len(unreadable),
        "rounds": rounds,
        "published_round": chosen,
        "published_why": why,
        "second_opinion": opinion,
        "stopped": stopped,
    }
    return trained[chosen], section, list(unreadable.items())
