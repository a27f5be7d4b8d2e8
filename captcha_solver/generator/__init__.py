"""Captcha generator: the public generator's process with its own or the real assets."""

from captcha_solver.generator._background import network_background
from captcha_solver.generator._captcha import (
    CHARSET,
    DEFAULT_FONT,
    EXTRA_FONT,
    CaptchaSpec,
    random_text,
    render_captcha,
)
from captcha_solver.generator._dataset import generate_dataset, unique_name

__all__ = [
    "CHARSET",
    "DEFAULT_FONT",
    "EXTRA_FONT",
    "CaptchaSpec",
    "generate_dataset",
    "network_background",
    "random_text",
    "render_captcha",
    "unique_name",
]
