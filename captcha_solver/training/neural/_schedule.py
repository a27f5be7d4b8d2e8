"""The training schedule of the neural reader: learning rate, epochs in a time budget, weight averaging."""

from __future__ import annotations

import copy
import math

import torch

from captcha_solver.training.neural._network import CRNN

__all__ = ["planned_epochs"]


class _WeightAverage:
    """Exponential moving average of the weights and BatchNorm statistics.

    The average of the last few thousand steps generalises better than the
    last step's weights on small datasets (Polyak averaging); it is what is
    validated, kept as best and exported.
    """

    def __init__(self, model: CRNN, decay: float):
        self.decay = decay
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: CRNN, step: int) -> None:
        # Ramped: early on (and in short runs) the average follows the recent
        # weights instead of holding on to the random initialisation.
        d = min(self.decay, (1 + step) / (10 + step))
        for avg, cur in zip(self.model.state_dict().values(), model.state_dict().values()):
            if avg.dtype.is_floating_point:
                avg.mul_(d).add_(cur, alpha=1 - d)
            else:  # BatchNorm's batch counter
                avg.copy_(cur)


def _lr_at(step: int, total_steps: int, lr: float) -> float:
    """Linear warm-up over 10% of the steps, then cosine decay to lr / 50.

    A function of the step alone (nanoGPT-style), so a resumed run with
    more epochs simply stretches the schedule.
    """
    warmup = max(1, total_steps // 10)
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
    return lr / 50 + (lr - lr / 50) * 0.5 * (1 + math.cos(math.pi * progress))


def planned_epochs(
    max_epochs: int, max_minutes: float, elapsed_s: float, epoch_s: float, epochs_done: int
) -> int:
    """Epochs a run can afford: all ``max_epochs``, or what fits the time budget.

    ``elapsed_s`` is the time spent so far (preprocessing included),
    ``epoch_s`` the cost of one epoch with its validation. Never fewer
    than ``epochs_done`` (and at least one).
    """
    if max_minutes <= 0:
        return max_epochs
    fits = epochs_done + int(max(0.0, max_minutes * 60 - elapsed_s) // max(epoch_s, 1e-6))
    return max(1, epochs_done, min(max_epochs, fits))
