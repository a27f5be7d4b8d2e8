"""The ``training`` section of the settings schema: reproducibility, resources and data of a training run."""

from __future__ import annotations

from dataclasses import dataclass

from captcha_solver.settings._checks import Choice, Range
from captcha_solver.settings._fields import Section, field

__all__ = ["TrainingConfig"]


@dataclass(frozen=True)
class TrainingConfig(Section):
    """Reproducibility and resources of training."""

    _section = "training"
    seed: int = field(0, Range(0), doc="Random seed for splits and models.")
    validation_fraction: float = field(
        0.0,
        Range(0, 0.5),
        doc="Fraction of captchas held out for validation; 0 = from the data (10%, at least 30 or a fifth, "
        "at most 300 captchas).",
    )
    workers: int = field(0, Range(0), doc="Worker processes; 0 = all cores.")
    reader: str = field(
        "auto",
        Choice("classical", "neural", "auto"),
        doc="What 'train' builds: the classical reader, the neural one, or auto: what the data says pays off "
        "(the classical reader only where plain segmentation splits most captchas right), fused.",
    )
    budget_minutes: float = field(
        30.0,
        Range(1, 10000, inclusive=True),
        doc="Wall-clock budget of a training run in minutes; the neural epochs are fitted to what the "
        "classical reader leaves (train --budget).",
    )
    max_garbage: int = field(
        3, Range(0, 50), doc="Garbage candidates (pieces, pairs) sampled per training captcha."
    )
    align_unsegmented: bool = field(
        True,
        doc="Recover captchas whose components do not match the label by forced alignment (second pass).",
    )
    min_images: int = field(20, Range(2), doc="Fewest labelled images training accepts.")
    unlabelled: str = field(
        "",
        doc="Folder of unlabelled captchas of the same style to self-train on (train --unlabelled, which "
        "overrides it); empty = none.",
    )
    pseudo_label_precision: float = field(
        0.99,
        Range(0.5, 1),
        doc="Self-training: a pseudo-label is kept only where the kept readings' mean calibrated confidence "
        "reaches this precision and the validation readings above it do not contradict it (Wilson upper bound).",
    )
    self_training_rounds: int = field(
        0,
        Range(0, 20),
        doc="Self-training: most rounds of reading the unlabelled captchas and training again (fewer when the "
        "budget runs out or a round keeps no pseudo-label); 0 = from the data: 5 when the rounds are under "
        "4,000 captchas (each then sees 8,000 captchas, under a minute on 2 cores), 3 when larger (they share "
        "what the budget leaves).",
    )
    second_opinion: bool = field(
        True,
        doc="Self-training: train a second model on the labels alone (training seed + 1, half the epochs) when "
        "the budget affords it and the rounds are under 4,000 captchas (larger ones fill the budget), and keep "
        "only the pseudo-labels it reads the same: one training run's consistent confusion "
        "(on the real-site style, n read as m by one seed in 41 of 269) is not another's, and it passes every "
        "confidence threshold.",
    )
    pseudo_label_merge: int = field(
        2,
        Range(0),
        doc="Self-training: two characters the model reads as one another at least this many times on the "
        "validation captchas (e.g. 0 and O) are one class in the pseudo-labels' loss, so a pseudo-label never "
        "teaches which of the two it is (only the labels do); 0 = never.",
    )
    device: str = field(
        "cpu",
        Choice("auto", "cpu", "cuda"),
        doc="Where the neural reader trains: cpu, cuda (a GPU; an error without one), or auto: cuda when "
        "torch sees a GPU, else cpu. Export and its checks always run on the CPU.",
    )
    precision: str = field(
        "auto",
        Choice("auto", "fp32", "bf16"),
        doc="Number format of the neural reader's convolutions and classifier while it trains: fp32, bf16 "
        "(bfloat16 autocast; the weights, the recurrent layer, the loss and the exported model stay float32), or "
        "auto: bf16 where the hardware computes it natively (a CPU with AMX or AVX-512 BF16, a GPU with bf16), "
        "else fp32.",
    )
