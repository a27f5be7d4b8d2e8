"""The ``neural`` section of the settings schema: the neural reader's network and training schedule."""

from __future__ import annotations

from dataclasses import dataclass

from captcha_solver.settings._checks import Choice, Predicate, Range
from captcha_solver.settings._fields import Section, field

__all__ = ["NeuralSettings"]


def _four_widths(value: object) -> bool:
    """True for a string of four comma-separated integers in [4, 512]."""
    try:
        widths = [int(v) for v in str(value).split(",")]
    except ValueError:
        return False
    return len(widths) == 4 and all(4 <= w <= 512 for w in widths)


@dataclass(frozen=True)
class NeuralSettings(Section):
    """Training the neural (CNN + CTC) reader; 0, -1 and auto mean: chosen from the data at training time."""

    _section = "neural"
    epochs: int = field(
        0,
        Range(0, 1000),
        doc="Most training epochs; 0 = from the data (below 4,000 captchas about 60,000 captchas seen, at "
        "least 30; from 4,000 as many as the budget affords), cut to what the time budget affords.",
    )
    patience: int = field(
        0,
        Range(0, 1000),
        doc="Epochs in a row whose validation reading is worse than the best by more than chance (and so "
        "not kept) before stopping; 0 = never stop early (the learning-rate schedule anneals to its end).",
    )
    batch_size: int = field(
        0,
        Range(0, 4096),
        doc="Captchas per training step; 0 = from the data (64 from 4,000 captchas, else 32).",
    )
    height: int = field(
        0,
        Choice(0, 16, 32, 48, 64, 80, 96, 112, 128),
        doc="Height the text is resized to, in pixels (the four conv blocks halve it four times); "
        "0 = from the data (64 for text lines of 45 px and more when no classical reader is trained, else 32).",
    )
    channels: str = field(
        "auto",
        Predicate(
            lambda v: v == "auto" or _four_widths(v),
            "'auto' or four comma-separated conv widths from 4 to 512, e.g. 16,32,64,128",
        ),
        doc="Output channels of the four conv blocks; narrow early blocks keep a taller input affordable; "
        "auto = 16,32,64,128 at height 64, else 32,64,96,128.",
    )
    learning_rate: float = field(
        0.002, Range(1e-5, 1, inclusive=False), doc="Peak learning rate (AdamW, warm-up then cosine)."
    )
    weight_decay: float = field(
        -1.0,
        Predicate(lambda v: v == -1 or 0 <= v <= 1, "-1 (from the data) or a value in [0, 1]"),
        doc="AdamW weight decay: each step shrinks the weights by learning rate x this; larger values "
        "regularise more; -1 = from the data (0.05 from 4,000 captchas, else 0.0001).",
    )
    dropout: float = field(
        -1.0,
        Predicate(lambda v: v == -1 or 0 <= v < 1, "-1 (from the data) or a value in [0, 1)"),
        doc="Dropout between the BiGRU and the classifier; -1 = from the data (0.3 from 4,000 captchas, else 0.1).",
    )
    ema_decay: float = field(
        0.0,
        Range(0, 1, inclusive=(True, False)),
        doc="Decay per step of the moving average of the weights that is validated and exported (0 = off).",
    )
    max_minutes: float = field(
        0.0,
        Range(0, 10000),
        doc="Time budget of neural training in minutes; the epochs are fitted to it; 0 = what "
        "training.budget_minutes leaves.",
    )
    frame_stride: int = field(
        0,
        Choice(0, 2, 4),
        doc="Input columns per output frame: 4 halves the frames (less work), 2 leaves room between narrow "
        "letters; 0 = from the data (4 at height 64 when every character keeps 3 frames, else 2).",
    )
    width_dilation: int = field(
        1,
        Choice(1, 2, 3),
        doc="Horizontal dilation of the last two conv blocks: 2 lets each frame see a wider glyph.",
    )
    stem: str = field(
        "auto",
        Choice("auto", "pool", "strided"),
        doc=(
            "First conv block: pool = 3x3 conv then 2x2 max-pool; strided = one 4x4 stride-2 conv, "
            "about 35% faster to train at height 64; auto = strided at height 64, else pool."
        ),
    )
    augment_geometry: bool = field(
        True,
        doc="Jitter rotation, shear, scale and width in training; off for styles whose generator already warps glyphs.",
    )
    augment_stretch: bool = field(
        True,
        doc="Part of augment_geometry: also stretch the width alone (by up to 8%), changing glyphs' aspect ratio.",
    )
    splice: float = field(
        -1.0,
        Predicate(lambda v: v == -1 or 0 <= v <= 1, "-1 (from the data) or a value in [0, 1]"),
        doc="Part of the training captchas replaced by splices (one cut between two characters, joined to another "
        "captcha cut at the same place); -1 = from the data (0.5).",
    )
