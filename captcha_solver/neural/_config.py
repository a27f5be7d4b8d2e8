"""The one small config that feeds preprocessing, the network and training.

It is stored with the exported model (``neural_reader.json``) and with every
checkpoint, so inference rebuilds everything from the artifact alone.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

from captcha_solver.planning import unresolved_settings

__all__ = ["BLANK", "NeuralConfig", "config_from_settings", "output_length"]

#: CTC blank: always class 0, so class ``i >= 1`` is ``charset[i - 1]``.
BLANK = 0


def output_length(width: int, frame_stride: int) -> int:
    """Frames the network emits for an input ``width`` pixels wide."""
    return width // 2 // 2 if frame_stride == 4 else width // 2


@dataclass
class NeuralConfig:
    """Preprocessing, network and training parameters of the neural reader.

    Attributes
    ----------
    height : int
        Height in pixels the text window is resized to (aspect kept); a
        multiple of 16.
    max_width : int
        Widest input in pixels; wider windows are squeezed to it.
    min_width : int
        Narrowest input in pixels; narrower ones are padded on the right.
    channels : tuple of int
        Output channels of the four conv blocks.
    frame_stride : {2, 4}
        Input columns per output frame. 2 gives narrow letters (``i``,
        ``l``) room for CTC's blank between repeats (``ii``).
    stem : {"pool", "strided"}
        First conv block: "pool" is a 3x3 conv at full resolution then a
        2x2 max-pool; "strided" is one 4x4 conv of stride 2 that sees the
        same pixels but runs at half resolution (about 35% less training
        time per epoch at height 64, so more epochs fit a time budget).
    width_dilation : int
        Horizontal dilation of the last two conv blocks (1: none). 2
        widens what each output frame sees from about 16 to 24 input
        columns at the same cost.
    rnn_hidden : int
        Hidden units per direction of the BiGRU head.
    dropout : float
        Dropout before the classifier.
    charset : str
        Characters the reader can emit, in class order (class ``i + 1``).
        Empty until training learns it from the labels.
    min_length, max_length : int
        Label length range seen in training (learned from the labels).
    blank_index : int
        CTC blank class; always 0.
    mean, std : float
        Normalisation of the [0, 1] text map: ``(x - mean) / std``.
    crop : bool
        Crop to the ink box before resizing (the seed captchas have small
        text on a big picture).
    crop_margin : float
        Margin around the ink box, as a fraction of the window height.
    window_ratio : float
        Minimum height of the crop window as a fraction of the image
        height. Learned in training from the tallest ink box, so the scale
        of the text is the same for every captcha of a style: a crop that
        shrank to the ink would make ``o`` look like ``O``.
    contrast : {"fixed", "per_image"}
        How grey maps to [0, 1]. ``"per_image"`` stretches each window from
        its background to its 99.5th percentile; ``"fixed"`` divides the
        grey above the background by ``ink_scale``, one span for the whole
        style, so the brightness of a stroke keeps its meaning (after the
        blur a thinner stroke peaks lower: Arial's ``l`` against ``I``).
    ink_scale : float
        The fixed span; 0 until training learns it from the data.
    epochs, batch_size, lr, weight_decay, patience : training schedule
        ``patience`` is in epochs without a better validation exact accuracy.
    max_minutes : float
        Time budget of the training run (0: none). After the first epoch
        the number of epochs is cut to what fits the budget, and the
        learning-rate schedule is planned over that number, so a budgeted
        run still anneals to its end instead of stopping mid-schedule.
    val_fraction : float
        Part of the labelled images held out for validation.
    min_images : int
        Fewest labelled images training accepts.
    seed : int
        Seed of the split, the initial weights and the augmentation.
    augment : bool
        Master switch of the augmentation below.
    aug_affine, aug_noise, aug_blur, aug_contrast : bool
        Small rotation/shear/scale/shift, Gaussian noise, Gaussian blur,
        brightness and contrast jitter.
    aug_stretch : bool
        Also stretch the width alone, by up to 8% (part of
        ``aug_affine``): this changes the glyphs' aspect ratio, which some
        styles use to tell letters apart (``0`` and ``O`` in a monospaced
        font). On ImageCaptcha-style data, turning it off did not help
        (see the README).
    ema_decay : float
        Decay per step of the exponential moving average of the weights
        that is validated and exported (0: no averaging, the last step's
        weights are used).
    threads : int
        Torch intra-op threads for training (0: all cores).
    calibration_power : float
        Sequence confidence is ``prod(char_conf) ** calibration_power``;
        fitted on validation after training (1.0 = uncalibrated).
    """

    height: int = 32
    max_width: int = 320
    min_width: int = 16
    channels: tuple[int, ...] = (32, 64, 96, 128)
    frame_stride: int = 2
    width_dilation: int = 1
    stem: str = "pool"
    rnn_hidden: int = 96
    dropout: float = 0.1
    charset: str = ""
    min_length: int = 1
    max_length: int = 32
    blank_index: int = BLANK
    mean: float = 0.2
    std: float = 0.3
    crop: bool = True
    crop_margin: float = 0.12
    window_ratio: float = 0.0
    contrast: str = "fixed"
    ink_scale: float = 0.0
    # For direct use of the trainer; `model.py train` chooses these from the
    # data (captcha_solver.planning) unless config.yaml sets them.
    epochs: int = 20
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 1e-4
    patience: int = 8
    max_minutes: float = 0.0
    val_fraction: float = 0.1
    min_images: int = 20
    seed: int = 0
    augment: bool = True
    aug_affine: bool = True
    aug_stretch: bool = True
    aug_noise: bool = True
    aug_blur: bool = True
    aug_contrast: bool = True
    ema_decay: float = 0.0
    threads: int = 0
    calibration_power: float = 1.0
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.channels = tuple(int(c) for c in self.channels)
        if self.height < 16 or self.height % 16:
            # Four 2x poolings in height: the rest is flattened into features.
            raise ValueError(f"height must be a multiple of 16 (e.g. 32 or 48), got {self.height}")
        if self.frame_stride not in (2, 4):
            raise ValueError(f"frame_stride must be 2 or 4, got {self.frame_stride}")
        if self.width_dilation not in (1, 2, 3):
            raise ValueError(f"width_dilation must be 1, 2 or 3, got {self.width_dilation}")
        if self.stem not in ("pool", "strided"):
            raise ValueError(f"stem must be 'pool' or 'strided', got {self.stem!r}")
        if len(self.channels) != 4:
            raise ValueError(f"channels must list 4 conv widths, got {self.channels}")
        if not 8 <= self.min_width <= self.max_width:
            raise ValueError(
                f"need 8 <= min_width <= max_width, got min_width={self.min_width}, max_width={self.max_width}"
            )
        if self.blank_index != BLANK:
            raise ValueError(f"blank_index must be {BLANK}, got {self.blank_index}")
        if len(set(self.charset)) != len(self.charset):
            raise ValueError(f"charset has repeated characters: {self.charset!r}")
        if self.contrast not in ("fixed", "per_image"):
            raise ValueError(f"contrast must be 'fixed' or 'per_image', got {self.contrast!r}")
        if self.max_minutes < 0:
            raise ValueError(f"max_minutes must be >= 0 (0 = no budget), got {self.max_minutes}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        if self.std <= 0:
            raise ValueError(f"std must be > 0, got {self.std}")
        if not 0.0 < self.val_fraction < 0.9:
            raise ValueError(f"val_fraction must be in (0, 0.9), got {self.val_fraction}")

    @property
    def num_classes(self) -> int:
        """Charset size plus the blank."""
        return len(self.charset) + 1

    def to_dict(self) -> dict:
        """Plain JSON-ready dict (tuples become lists)."""
        d = dataclasses.asdict(self)
        d["channels"] = list(self.channels)
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict) -> NeuralConfig:
        """Rebuild from :meth:`to_dict`; unknown keys are an error, missing ones take defaults.

        Raises
        ------
        ValueError
            If ``data`` has keys that are not fields of the config.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown NeuralConfig keys {unknown}; known keys: {sorted(names)}")
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> NeuralConfig:
        return cls.from_dict(json.loads(text))

    def replace(self, **changes) -> NeuralConfig:
        """A copy with ``changes`` applied (validated like a new config)."""
        return dataclasses.replace(self, **changes)


def config_from_settings(settings) -> NeuralConfig:
    """The neural reader's config from the project's settings (sections ``neural`` and ``training``).

    The settings schema holds the defaults; this is the one mapping from its
    keys to the network's and the training loop's, used by ``model.py train``
    and ``python -m captcha_solver.neural.train`` alike.

    Parameters
    ----------
    settings : captcha_solver.settings.Config

    Returns
    -------
    config : NeuralConfig
        Charset, lengths and preprocessing scales are left to be learned from the data.

    Raises
    ------
    ValueError
        If a setting still says "from the data" (resolve the settings with
        :func:`captcha_solver.planning.plan_training` first).
    """
    n, tr = settings.neural, settings.training
    unresolved = unresolved_settings(settings)
    if unresolved:
        raise ValueError(
            f"settings {', '.join(unresolved)} are 'from the data' (0, -1 or auto): resolve them first with "
            "captcha_solver.planning.plan_training"
        )
    return NeuralConfig(
        epochs=n.epochs,
        patience=n.patience,
        batch_size=n.batch_size,
        height=n.height,
        channels=tuple(int(c) for c in n.channels.split(",")),
        lr=n.learning_rate,
        weight_decay=n.weight_decay,
        dropout=n.dropout,
        ema_decay=n.ema_decay,
        max_minutes=n.max_minutes,
        frame_stride=n.frame_stride,
        width_dilation=n.width_dilation,
        stem=n.stem,
        aug_affine=n.augment_geometry,
        aug_stretch=n.augment_stretch,
        seed=tr.seed,
        val_fraction=tr.validation_fraction,
        min_images=tr.min_images,
        threads=tr.workers,
    )
