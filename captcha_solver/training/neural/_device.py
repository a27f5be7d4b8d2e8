"""Where and in what number format the neural reader trains: ``training.device`` and ``training.precision`` resolved for torch."""

from __future__ import annotations

import torch

from captcha_solver.settings import ConfigError

__all__ = ["native_bf16", "resolve_device", "resolve_precision"]

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


PRECISIONS = ("auto", "fp32", "bf16")


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes bfloat16 matrix products in hardware (not emulated, which is slower than fp32)."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    # oneDNN runs bf16 convolutions on AMX tiles or AVX-512 BF16; other CPUs would convert in software.
    return bool(torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported())


def resolve_precision(name: str, device: torch.device) -> torch.dtype | None:
    """The autocast type of the training steps that ``training.precision`` names, or None for plain float32.

    Parameters
    ----------
    name : {"auto", "fp32", "bf16"}
        ``auto`` is ``bf16`` where :func:`native_bf16` holds for ``device``, else ``fp32``.
    device : torch.device
        Where the network trains.

    Raises
    ------
    settings.ConfigError
        If ``name`` is not one of the three (the message names ``training.precision``).
    """
    if name not in PRECISIONS:
        raise ConfigError.invalid("training.precision", name, f"one of {', '.join(PRECISIONS)}")
    if name == "bf16" or (name == "auto" and native_bf16(device)):
        return torch.bfloat16
    return None
