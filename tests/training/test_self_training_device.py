"""training.device (auto, cpu, cuda) and the warm start self-training rounds use, on tiny real neural runs."""

from __future__ import annotations

import logging

import pytest

torch = pytest.importorskip("torch")

from captcha_solver.image_io import list_images  # noqa: E402
from captcha_solver.settings import Config, ConfigError, apply_overrides  # noqa: E402
from captcha_solver.training.neural import CHECKPOINT_NAME, config_from_settings, train_neural  # noqa: E402
from captcha_solver.training.neural import NeuralTrainingConfig as NeuralConfig  # noqa: E402
from captcha_solver.training.neural._device import resolve_device  # noqa: E402
from captcha_solver.training.neural._network import CRNN  # noqa: E402
from captcha_solver.training.neural._warm import warm_start  # noqa: E402
from tests.tiny_neural import RESOLVED, train_tiny  # noqa: E402
from tests.tiny_neural import TINY as TINY_BASE  # noqa: E402

NO_GPU = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
TINY = {**TINY_BASE, "epochs": 1}


@pytest.fixture(scope="module")
def paths(captcha_dir):
    return list_images(captcha_dir)[0][:60]


def _run(paths, out, **changes):
    return train_tiny(paths, out, **{"epochs": 1, **changes})


@NO_GPU
def test_auto_is_the_cpu_without_a_gpu():
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")


@NO_GPU
def test_cuda_without_a_gpu_is_a_config_error_naming_the_setting():
    with pytest.raises(ConfigError, match="training.device is 'cuda' but torch sees no GPU") as caught:
        resolve_device("cuda")
    assert caught.value.key == "training.device"


def test_an_unknown_device_is_refused():
    with pytest.raises(ConfigError, match="training.device"):
        resolve_device("tpu")
    with pytest.raises(ConfigError, match="training.device"):
        apply_overrides(Config(), {"training.device": "tpu"})


def test_the_setting_reaches_the_training_config():
    assert Config().training.device == "cpu"
    cfg = apply_overrides(Config(), {**RESOLVED, "training.device": "auto"})
    assert config_from_settings(cfg).device == "auto"


def test_cpu_and_auto_train_the_same_network_here(paths, tmp_path):
    # Same seed, same data: the device setting changes nothing on a machine without a GPU.
    if torch.cuda.is_available():
        pytest.skip("auto is the GPU here")
    a = _run(paths, tmp_path / "cpu", device="cpu")
    b = _run(paths, tmp_path / "auto", device="auto")
    assert [h["loss"] for h in a["history"]] == [h["loss"] for h in b["history"]]
    assert a["val_exact"] == b["val_exact"] and a["onnx_parity_max_abs"] == b["onnx_parity_max_abs"]


@NO_GPU
def test_a_neural_run_asking_for_cuda_fails_before_any_training(captcha_dir, tmp_path, monkeypatch):
    import captcha_solver.training.classical as classical
    from captcha_solver.solver import My_CaptchaSolver_Model

    def no_training(*args, **kwargs):
        raise AssertionError("training started although the device cannot be used")

    monkeypatch.setattr(classical, "train_reader", no_training)
    solver = My_CaptchaSolver_Model(
        model_dir=tmp_path / "model",
        overrides={
            "training.device": "cuda",
            "logging.console": False,
            "tracking.wandb_mode": "disabled",
            "paths.log_file": str(tmp_path / "log"),
        },
        results_csv=tmp_path / "results.csv",
    )
    with pytest.raises(ConfigError, match="training.device"):
        solver.train(captcha_dir, reader="auto", progress=False)
    assert not (tmp_path / "model" / "manifest.json").exists()


def test_a_warm_start_continues_from_the_earlier_weights(paths, tmp_path, caplog):
    first = _run(paths, tmp_path / "first")
    with caplog.at_level(logging.INFO, logger="captcha_solver.neural"):
        again = train_neural(
            paths[:48],
            val_paths=paths[48:],
            config=NeuralConfig(**TINY),
            out_dir=tmp_path / "again",
            progress=False,
            init_from=tmp_path / "first" / CHECKPOINT_NAME,
        )
    assert "starting from the weights of" in caplog.text
    # The first epoch from trained weights starts far below the first epoch from random ones.
    assert again["history"][0]["loss"] < first["history"][0]["loss"]
    assert again["charset"] == first["charset"]


def test_a_checkpoint_of_another_network_is_not_loaded(paths, tmp_path, caplog):
    _run(paths, tmp_path / "first")
    other = CRNN(NeuralConfig(**{**TINY, "channels": (8, 8, 8, 8), "charset": "abc"}))
    with caplog.at_level(logging.WARNING):
        assert not warm_start([other], tmp_path / "first" / CHECKPOINT_NAME, logging.getLogger("test"))
    assert "does not fit this network" in caplog.text
