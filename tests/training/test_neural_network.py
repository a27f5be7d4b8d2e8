"""The CRNN's output shape over widths, and its size."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from captcha_solver.neural import output_length  # noqa: E402
from captcha_solver.training.neural import NeuralTrainingConfig as NeuralConfig  # noqa: E402 - after the torch skip
from captcha_solver.training.neural._network import CRNN  # noqa: E402


@pytest.mark.parametrize("height,stride", [(32, 2), (48, 4)])
@pytest.mark.parametrize("width", [16, 17, 63, 100, 320])
def test_output_shape_for_any_width(height, stride, width):
    cfg = NeuralConfig(height=height, charset="abc123", frame_stride=stride)
    model = CRNN(cfg).eval()
    with torch.no_grad():
        out = model(torch.zeros(2, 1, height, width))
    assert out.shape == (2, output_length(width, stride), cfg.num_classes)
    # Log-probabilities: each frame sums to 1.
    torch.testing.assert_close(out.exp().sum(-1), torch.ones(2, output_length(width, stride)))


def test_model_is_small():
    model = CRNN(NeuralConfig(charset="".join(chr(c) for c in range(33, 33 + 62))))
    n = sum(p.numel() for p in model.parameters())
    assert n * 4 < 2_000_000, f"{n} parameters is more than 2 MB of float32"
