"""Which readers to train and with which settings, decided from the data (pure: numbers in, plan out).

The rules capture what the measurements in the README found: plain
segmentation must split most captchas right for a glyph classifier to pay
off (the real-site and ImageCaptcha styles join or overlap their glyphs);
a text line of 45 pixels or more keeps its detail only at input height 64
(ImageCaptcha: 94.5% against 93.1% at height 32) when the neural reader
reads alone (beside a classical reader height 32 keeps it fast), where a strided first
convolution and narrow early blocks keep an epoch affordable; strong
regularisation pays from a few thousand captchas (weight decay 0.05 and
dropout 0.3: 96.5% against 95.4% validation); small sets need many epochs
and large ones as many as the budget affords; small sets gain most from
splicing (100 labelled real-site captchas: 96.1% against 91.6% of 536 fresh
ones, one training seed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from captcha_solver.settings import Config, apply_overrides

__all__ = ["FROM_DATA", "MIN_SEGMENTATION_YIELD", "TrainingPlan", "plan_training", "unresolved_settings"]

#: Least part of sampled captchas that plain segmentation must split right for the classical reader.
MIN_SEGMENTATION_YIELD = 0.5
#: Captchas from which a set counts as large (bigger batches, stronger regularisation).
LARGE_SET = 4000
#: Captcha presentations a small set is trained for (epochs = this / training captchas, at least 30).
PRESENTATIONS = 60_000
#: Most epochs of a run (a large set gets this many, cut to what the budget affords).
MAX_EPOCHS = 1000
#: Captcha presentations of each self-training round (it starts from the last round's weights).
ROUND_PRESENTATIONS = 8_000
#: Peak learning rate of a self-training round, as a part of the first training's: a round fine-tunes
#: weights that already read (the full rate undid them: 100 labelled, validation 0.95 -> 0.85 in a round).
ROUND_LR_SHARE = 0.25
#: Most self-training rounds ("from the data") when the rounds are small (under ``LARGE_SET`` captchas): each
#: sees ``ROUND_PRESENTATIONS`` captchas, 40-45 s with real-site labels. In four real-site runs whose rounds were
#: all kept, round 5 read the run's own unlabelled captchas as well as round 3 or better (200 labels: 5 -> 4
#: errors; 100 labels: 4 -> 4, 6 -> 6, 10 -> 10): a small gain for about 1.5 min more (runs of 10.3-12.1 min).
SMALL_ROUNDS = 5
#: Most rounds when they are large: they then share what the budget leaves (ImageCaptcha, 1,000 labelled +
#: 9,000 unlabelled, was measured with 3).
LARGE_ROUNDS = 3
#: Fewest epochs of a self-training round.
MIN_ROUND_EPOCHS = 10
#: Part of the training captchas replaced by splices (two captchas cut between the same characters), at
#: every size: 10,000 ImageCaptcha captchas read 95.3% of fresh ones with it (three training seeds, 9,000
#: readings) against 94.6% without (two seeds, 6,000); with 100 real-site labels it did most of the work.
SPLICE = 0.5
#: Settings whose schema default (0, -1 or "auto") means "chosen from the data".
_FROM_DATA_KEYS = (
    "neural.epochs",
    "neural.patience",
    "neural.batch_size",
    "neural.height",
    "neural.frame_stride",
    "neural.channels",
    "neural.stem",
    "neural.weight_decay",
    "neural.dropout",
    "neural.splice",
    "training.validation_fraction",
)


def _value(cfg: Config, key: str):
    section, name = key.split(".")
    return getattr(getattr(cfg, section), name)


#: Each such setting and its "from the data" value, read off the schema (one source).
FROM_DATA = {key: _value(Config(), key) for key in _FROM_DATA_KEYS}


def unresolved_settings(cfg: Config) -> list[str]:
    """The settings of ``cfg`` still "from the data" (see :data:`FROM_DATA`), as dotted keys."""
    return [key for key, unset in FROM_DATA.items() if _value(cfg, key) == unset]


@dataclass
class TrainingPlan:
    """The readers to train, the settings to train them with, and why.

    Attributes
    ----------
    classical, neural : bool
        Whether each reader is trained.
    config : Config
        The settings with every "from the data" value (0, -1, auto) resolved.
    chosen : dict
        Each resolved setting (dotted key) and its value.
    reasons : dict
        Each decision (``classical``, ``neural`` or a dotted setting) and why.
    survey : dict
        What :func:`captcha_solver.training.survey_dataset` measured.
    """

    classical: bool
    neural: bool
    config: Config
    chosen: dict = field(default_factory=dict)
    reasons: dict = field(default_factory=dict)
    survey: dict = field(default_factory=dict)
    round_presentations: int = 0

    @property
    def round_learning_rate(self) -> float:
        """Peak learning rate of a self-training round (it fine-tunes the weights of the round before)."""
        return self.config.neural.learning_rate * ROUND_LR_SHARE

    def round_epochs(self, n_train: int) -> int | None:
        """Epochs of a self-training round on ``n_train`` captchas (None: the plan's ``neural.epochs``).

        A round of a large set (``LARGE_SET`` captchas or more, pseudo-labels included) gets
        ``MAX_EPOCHS``, cut by the training loop to what the round's share of the budget affords, as a
        large labelled set's first training is; a smaller one sees ``round_presentations`` captchas.
        """
        if not self.round_presentations:
            return None
        if n_train >= LARGE_SET:
            return MAX_EPOCHS
        return max(MIN_ROUND_EPOCHS, math.ceil(self.round_presentations / max(n_train, 1)))

    @property
    def readers(self) -> list[str]:
        return [name for name, on in (("classical", self.classical), ("neural", self.neural)) if on]

    def to_dict(self) -> dict:
        """The manifest's ``plan`` entry."""
        return {
            "readers": self.readers,
            "chosen": self.chosen,
            "reasons": self.reasons,
            "survey": self.survey,
        }


def _readers(survey: dict, which: str, torch_available: bool, reasons: dict) -> tuple[bool, bool]:
    if which != "auto":
        reasons["classical" if which == "classical" else "neural"] = f"asked for (reader {which})"
        return which == "classical", which == "neural"
    share = survey["segmentation_yield"]
    seen = survey["sampled"]
    classical = share >= MIN_SEGMENTATION_YIELD
    reasons["classical"] = (
        f"{'trained' if classical else 'not trained'}: plain segmentation splits {share:.1%} of {seen} sampled "
        f"captchas into one component per character ({'at least' if classical else 'below'} "
        f"{MIN_SEGMENTATION_YIELD:.0%})"
    )
    neural = torch_available
    reasons["neural"] = (
        "trained: reads whole captchas, joined glyphs included"
        if neural
        else ("not trained: torch is not installed (the 'train' extra)")
    )
    if not classical and not neural:
        classical = True
        reasons["classical"] += "; trained anyway: it is the only reader this install can build"
    return classical, neural


def _neural_settings(
    survey: dict, cfg: Config, n_train: int, classical: bool, chosen: dict, reasons: dict
) -> None:
    n = cfg.neural
    large = n_train >= LARGE_SET
    size = f"{n_train} training captchas ({'at least' if large else 'fewer than'} {LARGE_SET})"

    def pick(key: str, value, why: str) -> None:
        current = getattr(n, key)
        if current == FROM_DATA[f"neural.{key}"]:
            chosen[f"neural.{key}"] = value
            reasons[f"neural.{key}"] = why
        else:
            chosen[f"neural.{key}"] = current
            reasons[f"neural.{key}"] = "set in the configuration"

    line = survey["line_height"]
    # Beside a classical reader the neural one only reads the captchas the
    # classical one is unsure of; height 32 keeps it at a third of the cost.
    height = 64 if line >= 45 and not classical else 32
    pick(
        "height",
        height,
        f"text lines are {line:.0f} px high and the neural reader is "
        f"{'the only reader' if not classical else 'beside the classical one'} "
        "(64 for lines of 45 px and more read by the neural reader alone, else 32)",
    )
    height = chosen["neural.height"]
    tall = height >= 64
    pick(
        "stem",
        "strided" if tall else "pool",
        f"height {height}: {'strided' if tall else 'pool'} first block",
    )
    pick(
        "channels",
        "16,32,64,128" if tall else "32,64,96,128",
        f"height {height}: {'narrow early blocks keep an epoch affordable' if tall else 'the standard widths'}",
    )
    longest = max(int(k) for k in survey["lengths"])
    width = survey["image_width"] * height / max(survey["image_height"], 1.0)
    per_char = width / 4 / max(longest, 1)
    stride = 4 if tall and per_char >= 3 else 2
    pick(
        "frame_stride",
        stride,
        f"height {height}, about {per_char:.1f} frames per character at stride 4 (4 needs height 64 and 3 frames)",
    )
    pick("batch_size", 64 if large else 32, size)
    pick("weight_decay", 0.05 if large else 1e-4, size)
    pick("dropout", 0.3 if large else 0.1, size)
    pick(
        "splice",
        SPLICE,
        "every character beside more neighbours than the labels show "
        "(at 10,000 ImageCaptcha captchas: 95.3% of fresh ones against 94.6% without)",
    )
    if large:
        # A large set is not learned by heart in 60,000 presentations: the seed style's 7,700 stopped after
        # 30 epochs with 17 of its 24 minutes unused, its neural reader 95.8% alone against 98.7% for one
        # trained longer. The schedule is planned over the epochs the budget affords instead.
        pick(
            "epochs",
            MAX_EPOCHS,
            f"{size}: as many epochs as the budget affords (the schedule is fitted to them)",
        )
    else:
        epochs = min(MAX_EPOCHS, max(30, math.ceil(PRESENTATIONS / max(n_train, 1))))
        pick("epochs", epochs, f"{size}: at least 30 epochs, about {PRESENTATIONS:,} captchas seen")
    pick("patience", chosen["neural.epochs"], "no early stop: the schedule anneals to its last epoch")


def large_rounds(n_train: int, unlabelled: int) -> bool:
    """Whether self-training rounds of ``n_train`` labelled + ``unlabelled`` captchas are large: they then train
    for as long as their share of the budget affords (see :meth:`TrainingPlan.round_epochs`) and fill it."""
    return n_train + unlabelled >= LARGE_SET


def _rounds(cfg: Config, n_train: int, unlabelled: int, chosen: dict, reasons: dict) -> None:
    """Resolve ``training.self_training_rounds`` (in place): more rounds when they are small and cheap."""
    key = "training.self_training_rounds"
    # 0 is "from the data"; it is not in FROM_DATA, whose settings build the network and must be resolved
    # for it, while the rounds matter to self-training alone.
    if cfg.training.self_training_rounds:
        chosen[key], reasons[key] = cfg.training.self_training_rounds, "set in the configuration"
    elif not unlabelled:
        chosen[key], reasons[key] = LARGE_ROUNDS, "no unlabelled captchas: no round runs"
    elif not large_rounds(n_train, unlabelled):
        chosen[key] = SMALL_ROUNDS
        reasons[key] = (
            f"rounds of {n_train + unlabelled} captchas (fewer than {LARGE_SET}) each see {ROUND_PRESENTATIONS:,} "
            "captchas: two more rounds cost under two minutes"
        )
    else:
        chosen[key] = LARGE_ROUNDS
        reasons[key] = (
            f"rounds of {n_train + unlabelled} captchas (at least {LARGE_SET}) share what the budget leaves"
        )


def plan_training(
    survey: dict, cfg: Config, *, reader: str | None = None, torch_available: bool = True, unlabelled: int = 0
) -> TrainingPlan:
    """Decide the readers and resolve the "from the data" settings.

    Parameters
    ----------
    survey : dict
        :func:`captcha_solver.training.survey_dataset` of the labelled files.
    cfg : Config
        Settings; values 0, -1 or "auto" (see ``config.yaml``) are chosen here,
        any other value is kept.
    reader : {"classical", "neural", "auto"}, optional
        Default ``training.reader``.
    torch_available : bool
        Whether the neural reader can be trained in this install.
    unlabelled : int
        Unlabelled captchas given for self-training (0: none): each round
        then sees ``ROUND_PRESENTATIONS`` captchas at ``ROUND_LR_SHARE`` of the
        learning rate (see :meth:`TrainingPlan.round_epochs`).

    Returns
    -------
    TrainingPlan
    """
    which = reader or cfg.training.reader
    reasons: dict[str, str] = {}
    chosen: dict = {}
    classical, neural = _readers(survey, which, torch_available, reasons)
    images = survey["images"]
    if cfg.training.validation_fraction == FROM_DATA["training.validation_fraction"]:
        # 10%, but at least 30 where a fifth of the set allows it (the fusion
        # is fitted on these), and at most 300 (enough to fit it; the rest trains).
        n_val = max(1, min(300, max(round(0.1 * images), min(30, round(0.2 * images)))))
        chosen["training.validation_fraction"] = round(n_val / max(images, 1), 6)
        reasons["training.validation_fraction"] = (
            f"{n_val} of {images} captchas (10%, at least 30 or a fifth, at most 300)"
        )
    else:
        chosen["training.validation_fraction"] = cfg.training.validation_fraction
        reasons["training.validation_fraction"] = "set in the configuration"
    n_train = images - round(images * chosen["training.validation_fraction"])
    rounds = 0
    if neural:
        _neural_settings(survey, cfg, n_train, classical, chosen, reasons)
        if unlabelled and reasons["neural.epochs"] != "set in the configuration":
            # The first training is the one a labelled set alone gets (cut shorter, it read worse: 100
            # labelled, 95.8% against 98.4% of the hold-out); the rounds after it fine-tune.
            reasons["neural.epochs"] += (
                f"; then self-training on {unlabelled} unlabelled captchas, whose rounds see "
                f"{ROUND_PRESENTATIONS:,} captchas each (at least {MIN_ROUND_EPOCHS} epochs; a round of "
                f"{LARGE_SET} captchas or more trains for as many epochs as its share of the budget affords) at "
                f"{ROUND_LR_SHARE:.0%} of the learning rate"
            )
            rounds = ROUND_PRESENTATIONS
    _rounds(cfg, n_train, unlabelled, chosen, reasons)
    resolved = apply_overrides(cfg, {k: v for k, v in chosen.items()})
    return TrainingPlan(classical, neural, resolved, chosen, reasons, survey, rounds)
