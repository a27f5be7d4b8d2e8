"""training.precision (auto, fp32, bf16): what it resolves to, and real tiny trainings in each format."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from captcha_solver.image_io import list_images  # noqa: E402
from captcha_solver.settings import Config, ConfigError, apply_overrides  # noqa: E402
from captcha_solver.training.neural import NeuralTrainingConfig, config_from_settings  # noqa: E402
from captcha_solver.training.neural._device import native_bf16, resolve_precision  # noqa: E402
from captcha_solver.training.neural._network import CRNN  # noqa: E402
from tests.tiny_neural import RESOLVED, TINY, train_tiny  # noqa: E402

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def paths(captcha_dir):
    return list_images(captcha_dir)[0][:60]


def test_each_name_resolves_to_its_number_format():
    assert resolve_precision("fp32", CPU) is None
    assert resolve_precision("bf16", CPU) is torch.bfloat16
    # auto follows the hardware: bf16 only where it is native, never emulated.
    assert resolve_precision("auto", CPU) is (torch.bfloat16 if native_bf16(CPU) else None)


def test_an_unknown_precision_is_a_config_error_naming_the_setting():
    with pytest.raises(ConfigError, match="training.precision") as caught:
        resolve_precision("fp16", CPU)
    assert caught.value.key == "training.precision"
    with pytest.raises(ConfigError, match="training.precision"):
        apply_overrides(Config(), {"training.precision": "half"})


def test_the_setting_reaches_the_training_config():
    assert Config().training.precision == "auto" == NeuralTrainingConfig().precision
    cfg = apply_overrides(Config(), {**RESOLVED, "training.precision": "bf16"})
    assert config_from_settings(cfg).precision == "bf16"


def test_logits_are_the_network_before_its_log_softmax():
    torch.manual_seed(0)
    net = CRNN(NeuralTrainingConfig(**TINY, charset="abc")).eval()
    x = torch.randn(2, 1, 32, 64)
    assert torch.allclose(net(x), torch.log_softmax(net.logits(x), dim=-1))


def test_a_bf16_run_autocasts_the_network_but_gives_the_loss_float32(paths, tmp_path, monkeypatch):
    seen = []
    ctc_forward = torch.nn.CTCLoss.forward

    def spy(self, log_probs, *args):
        seen.append(log_probs.dtype)
        return ctc_forward(self, log_probs, *args)

    monkeypatch.setattr(torch.nn.CTCLoss, "forward", spy)
    bf16 = train_tiny(paths, tmp_path / "bf16", precision="bf16")
    assert seen and set(seen) == {torch.float32}
    fp32 = train_tiny(paths, tmp_path / "fp32", precision="fp32")
    # Same seed, data and batches: only the number format differs, and it shows in the losses.
    assert [h["loss"] for h in bf16["history"]] != [h["loss"] for h in fp32["history"]]
    assert all(math.isfinite(h["loss"]) for h in bf16["history"])
    # Training's second epoch has a lower loss than its first in either format.
    assert bf16["history"][1]["loss"] < bf16["history"][0]["loss"]
    # The exported model is float32 whatever the training steps used: onnxruntime matches torch.
    assert bf16["onnx_parity_max_abs"] < 1e-3


def test_a_bf16_checkpoint_resumes_in_fp32(paths, tmp_path):
    # The weights are float32 in either format, so a run may change its precision between calls.
    train_tiny(paths, tmp_path, precision="bf16", epochs=1)
    again = train_tiny(paths, tmp_path, precision="fp32", epochs=2)
    assert again["epochs_run"] == 2 and len(again["history"]) == 2
