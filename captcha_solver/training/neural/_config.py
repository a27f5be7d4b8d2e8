"""How the neural reader is trained: its architecture record plus the training schedule.

:class:`NeuralTrainingConfig` extends the architecture record that is
stored with the exported model (:class:`captcha_solver.neural.NeuralArch`)
by the fields only training reads; checkpoints store it whole, the
exported ``neural_reader.json`` only its :meth:`~NeuralArch.arch` part.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from captcha_solver.neural import NeuralArch
from captcha_solver.training._plan import unresolved_settings

__all__ = ["CHECKPOINT_NAME", "NeuralTrainingConfig", "config_from_settings"]

#: The training checkpoint in a neural run's folder (a killed run resumes from it; a next run may start from it).
CHECKPOINT_NAME = "neural_checkpoint.pt"


@dataclass
class NeuralTrainingConfig(NeuralArch):
    """The architecture record plus the training schedule of the neural reader.

    Attributes
    ----------
    dropout : float
        Dropout before the classifier (training only: the exported graph runs in eval mode).
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
        Also stretch the width alone, by up to 8% (part of ``aug_affine``):
        this changes the glyphs' aspect ratio, which some styles use to tell
        letters apart (``0`` and ``O`` in a monospaced font).
    aug_splice : float
        Part of the training captchas replaced, each time they are drawn, by
        a splice: the captcha cut between two characters and joined to
        another one cut at the same place (see
        :mod:`captcha_solver.training.neural._splice`; 0: off).
    ema_decay : float
        Decay per step of the exponential moving average of the weights
        that is validated and exported (0: no averaging).
    threads : int
        Torch intra-op threads for training (0: all cores).
    device : {"cpu", "cuda", "auto"}
        Where the network trains (``training.device``); export and its checks run on the CPU.
    precision : {"auto", "fp32", "bf16"}
        Number format of the training steps (``training.precision``, see
        :func:`~captcha_solver.training.neural._device.resolve_precision`).
    """

    dropout: float = 0.1
    # For direct use of the trainer; `model.py train` chooses these from the
    # data (the plan) unless config.yaml sets them.
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
    aug_splice: float = 0.0
    ema_decay: float = 0.0
    threads: int = 0
    device: str = "cpu"
    precision: str = "auto"
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.max_minutes < 0:
            raise ValueError(f"max_minutes must be >= 0 (0 = no budget), got {self.max_minutes}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if not 0.0 <= self.aug_splice <= 1.0:
            raise ValueError(f"aug_splice must be in [0, 1], got {self.aug_splice}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        if not 0.0 < self.val_fraction < 0.9:
            raise ValueError(f"val_fraction must be in (0, 0.9), got {self.val_fraction}")


def config_from_settings(settings) -> NeuralTrainingConfig:
    """The neural reader's training config from the project's settings (sections ``neural`` and ``training``).

    The settings schema holds the defaults; this is the one mapping from its
    keys to the network's and the training loop's.

    Parameters
    ----------
    settings : captcha_solver.settings.Config

    Returns
    -------
    config : NeuralTrainingConfig
        Charset, lengths and preprocessing scales are left to be learned from the data.

    Raises
    ------
    ValueError
        If a setting still says "from the data" (resolve the settings with
        :func:`captcha_solver.training.plan_training` first).
    """
    n, tr = settings.neural, settings.training
    unresolved = unresolved_settings(settings)
    if unresolved:
        raise ValueError(
            f"settings {', '.join(unresolved)} are 'from the data' (0, -1 or auto): resolve them first with "
            "captcha_solver.training.plan_training"
        )
    return NeuralTrainingConfig(
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
        aug_splice=n.splice,
        seed=tr.seed,
        val_fraction=tr.validation_fraction,
        min_images=tr.min_images,
        threads=tr.workers,
        device=tr.device,
        precision=tr.precision,
    )
