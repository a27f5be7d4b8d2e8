"""Where the neural reader trains: ``training.device`` (auto, cpu, cuda) resolved to a torch device."""

from __future__ import annotations

import torch

from captcha_solver.settings import ConfigError

__all__ = ["resolve_device"]

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(name: str) -> torch.device:
    """The torch device ``training.device`` names.

    Parameters
    ----------
    name : {"auto", "cpu", "cuda"}
        ``auto`` is ``cuda`` when torch sees a GPU, else ``cpu``.

    Returns
    -------
    torch.device

    Raises
    ------
    settings.ConfigError
        If ``name`` is not one of the three, or is ``cuda`` and torch sees no GPU
        (the message names ``training.device``; a ``ValueError``).
    """
    if name not in DEVICES:
        raise ConfigError.invalid("training.device", name, f"one of {', '.join(DEVICES)}")
    available = torch.cuda.is_available()
    if name == "cuda" and not available:
        raise ConfigError(
            "training.device is 'cuda' but torch sees no GPU (torch.cuda.is_available() is False; torch "
            f"{torch.__version__}, CUDA build {torch.version.cuda or 'none'}); set training.device to auto or cpu",
            key="training.device",
        )
    if name == "auto":
        return torch.device("cuda" if available else "cpu")
    return torch.device(name)
