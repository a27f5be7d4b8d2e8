"""The neural reader's architecture record: everything inference needs, stored with the ONNX file.

``neural_reader.json`` holds this record (preprocessing, network shape,
charset, learned scales, calibration) and nothing about how the network was
trained, so reading a captcha rebuilds everything from the artifact alone.
The training settings live in ``config.yaml`` (section ``neural``) and in
the training wing's :class:`captcha_solver.training.NeuralTrainingConfig`.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

__all__ = ["BLANK", "LEGACY_TRAINING_KEYS", "NeuralArch", "output_length"]

#: CTC blank: always class 0, so class ``i >= 1`` is ``charset[i - 1]``.
BLANK = 0

#: Training fields that metadata written before the architecture record was
#: split off (format ``neural_reader/1``) carries; they are dropped on load.
LEGACY_TRAINING_KEYS = frozenset(
    {
        "dropout",
        "epochs",
        "batch_size",
        "lr",
        "weight_decay",
        "patience",
        "max_minutes",
        "val_fraction",
        "min_images",
        "seed",
        "augment",
        "aug_affine",
        "aug_stretch",
        "aug_noise",
        "aug_blur",
        "aug_contrast",
        "ema_decay",
        "threads",
        "extra",
    }
)


def output_length(width: int, frame_stride: int) -> int:
    """Frames the network emits for an input ``width`` pixels wide."""
    return width // 2 // 2 if frame_stride == 4 else width // 2


@dataclass
class NeuralArch:
    """Preprocessing and network shape of the neural reader, with what training learned from the data.

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
    calibration_power: float = 1.0

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
        if self.std <= 0:
            raise ValueError(f"std must be > 0, got {self.std}")

    @property
    def num_classes(self) -> int:
        """Charset size plus the blank."""
        return len(self.charset) + 1

    def arch(self) -> NeuralArch:
        """The architecture record alone (a training config drops its training fields)."""
        names = {f.name for f in dataclasses.fields(NeuralArch)}
        return NeuralArch(**{k: v for k, v in dataclasses.asdict(self).items() if k in names})

    def to_dict(self) -> dict:
        """Plain JSON-ready dict (tuples become lists)."""
        d = dataclasses.asdict(self)
        d["channels"] = list(self.channels)
        return d

    def to_json(self) -> str:
        """:meth:`to_dict` as indented JSON with sorted keys."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict):
        """Rebuild from :meth:`to_dict`; unknown keys are an error, missing ones take defaults.

        A record written before the split (``neural_reader/1``) also holds
        training fields (:data:`LEGACY_TRAINING_KEYS`); the architecture
        record drops them, a training config keeps them.

        Raises
        ------
        ValueError
            If ``data`` has keys that are not fields of the record.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        legacy = set() if cls is not NeuralArch else LEGACY_TRAINING_KEYS
        unknown = sorted(set(data) - names - legacy)
        if unknown:
            raise ValueError(f"unknown {cls.__name__} keys {unknown}; known keys: {sorted(names)}")
        return cls(**{k: v for k, v in data.items() if k in names})

    @classmethod
    def from_json(cls, text: str):
        """Rebuild from :meth:`to_json`."""
        return cls.from_dict(json.loads(text))

    def replace(self, **changes):
        """A copy with ``changes`` applied (validated like a new record)."""
        return dataclasses.replace(self, **changes)
