"""The network: a compact CRNN (conv blocks, BiGRU, per-frame logits for CTC).

It knows nothing of data or files; :class:`~neural.NeuralArch` sizes it.
The width axis stays symbolic all the way through (no reshape that bakes
in a width), so the ONNX export takes any width.
"""

from __future__ import annotations

import torch
from torch import nn

from captcha_solver.training.neural._config import NeuralTrainingConfig

__all__ = ["CRNN"]


def _block(c_in: int, c_out: int, pool: tuple[int, int], dilate: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=(1, dilate), dilation=(1, dilate), bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(pool, pool),
    )


def _strided_stem(c_out: int) -> nn.Sequential:
    # A 4x4 kernel at stride 2 overlaps its neighbours, so no input pixel is
    # skipped; it gives the same (H/2, W/2) map as conv + 2x2 pool without
    # the full-resolution activations that dominate the pooled block's cost.
    return nn.Sequential(
        nn.Conv2d(1, c_out, 4, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class CRNN(nn.Module):
    """Conv feature extractor, BiGRU over columns, linear classifier.

    Input ``(N, 1, height, W)`` normalised images; output
    ``(N, W // frame_stride, charset + 1)`` log-probabilities, class 0 the blank.
    """

    def __init__(self, config: NeuralTrainingConfig):
        super().__init__()
        c1, c2, c3, c4 = config.channels
        # Width is pooled once or twice (frame_stride): enough frames for
        # CTC's blanks between repeated narrow letters.
        self.features = nn.Sequential(
            _strided_stem(c1) if config.stem == "strided" else _block(1, c1, (2, 2)),
            _block(c1, c2, (2, 2) if config.frame_stride == 4 else (2, 1)),
            # Dilated across the width: each frame sees a whole wide glyph
            # (O against 0) at no extra cost.
            _block(c2, c3, (2, 1), config.width_dilation),
            _block(c3, c4, (2, 1), config.width_dilation),
        )
        self.rows = config.height // 16
        self.rnn = nn.GRU(c4 * self.rows, config.rnn_hidden, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(2 * config.rnn_hidden, config.num_classes)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Per-frame class scores ``(N, T, C)`` before the softmax (what a bf16 training step autocasts)."""
        f = self.features(x)  # (N, C, rows, T)
        n, c, _, t = f.shape
        # Keep the rows as features: where a stroke sits in height tells
        # lower from upper case.
        f = f.permute(0, 3, 1, 2).reshape(n, t, c * self.rows)
        y, _ = self.rnn(f)
        return self.classifier(self.dropout(y))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(self.logits(x), dim=-1)
