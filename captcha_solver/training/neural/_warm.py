"""Starting a neural training run from an earlier run's weights (self-training rounds fine-tune the last model)."""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from captcha_solver.training.neural._config import NeuralTrainingConfig

__all__ = ["inherit_scales", "warm_start"]


def _load(ckpt_path: Path) -> dict:
    return torch.load(ckpt_path, map_location="cpu", weights_only=False)


def _shape(cfg: NeuralTrainingConfig):
    """The network's shape and preprocessing, without what is learned from the data."""
    learned = dict(
        window_ratio=0.0, ink_scale=0.0, charset="", min_length=1, max_length=1, calibration_power=1.0
    )
    return cfg.arch().replace(**learned)


def inherit_scales(cfg: NeuralTrainingConfig, ckpt_path: Path) -> NeuralTrainingConfig:
    """``cfg`` with the charset and preprocessing scales of the run that wrote ``ckpt_path``.

    The weights learned there expect the same input window and ink scale:
    learning them again from other captchas would shift every input a little.
    A checkpoint of another architecture gives ``cfg`` unchanged (the run then starts afresh).
    """
    saved = NeuralTrainingConfig.from_dict(_load(ckpt_path)["config"])
    if _shape(saved) != _shape(cfg):
        return cfg
    return cfg.replace(window_ratio=saved.window_ratio, ink_scale=saved.ink_scale, charset=saved.charset)


def warm_start(models, ckpt_path: Path, log: logging.Logger) -> bool:
    """Load the best weights of the run that wrote ``ckpt_path`` into each of ``models``.

    Returns False (the run starts from random weights, as logged) when the
    checkpoint does not fit the network (another charset or shape).
    """
    ckpt = _load(ckpt_path)
    weights = ckpt["state"].get("best_state") or ckpt["model"]
    try:
        for model in models:
            model.load_state_dict(weights)
    except RuntimeError as exc:
        log.warning("neural: %s does not fit this network (%s); training from random weights", ckpt_path, exc)
        return False
    log.info("neural: starting from the weights of %s (epoch %d)", ckpt_path, ckpt["state"]["best_epoch"])
    return True
