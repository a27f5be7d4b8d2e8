"""The public captcha generator's process, reproduced step for step.

The steps (README of the seed generator): copy the RGBA background; pick a
length in 3..6 and that many characters from A-Z a-z 0-9; load the font at
size 95; take the ink box of the text from ``font.getmask(text).getbbox()``;
pick x in [0, W - width] and y in [0, H - height]; draw the text at (x, y)
with fill (180, 180, 180, 180) in one call; blur the whole RGBA image with a
Gaussian of radius 3; save as ``<text>.png``.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from captcha_solver.generator._background import network_background

__all__ = [
    "CHARSET",
    "DEFAULT_FONT",
    "CaptchaSpec",
    "render_captcha",
    "random_text",
]

#: The 62 symbols of the public generator, case-sensitive.
CHARSET = string.ascii_uppercase + string.ascii_lowercase + string.digits

_FONT_DIR = Path(__file__).resolve().parent / "fonts"
#: Liberation Sans (SIL Open Font License 1.1): metric-compatible with Arial,
#: so the project's own captchas have the seed font's proportions.
DEFAULT_FONT = _FONT_DIR / "LiberationSans-Regular.ttf"
#: DejaVu Sans (Bitstream Vera licence): a second, wider shape for robustness.
EXTRA_FONT = _FONT_DIR / "DejaVuSans.ttf"


@dataclass(frozen=True)
class CaptchaSpec:
    """Parameters of the public generator (defaults are its values)."""

    font_size: int = 95
    fill: tuple[int, int, int, int] = (180, 180, 180, 180)
    blur_radius: float = 3.0
    min_length: int = 3
    max_length: int = 6
    charset: str = CHARSET
    width: int = 720
    height: int = 300


@lru_cache(maxsize=16)
def _load_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype(path, size)
    except OSError as exc:
        raise ValueError(f"cannot load font {path!r}: {exc}") from exc


@lru_cache(maxsize=16)
def _load_background(path: str) -> Image.Image:
    try:
        with Image.open(path) as im:
            return im.convert("RGBA")
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot load background {path!r}: {exc}") from exc


def random_text(rng: random.Random, spec: CaptchaSpec = CaptchaSpec()) -> str:
    """Step 2: a length uniform in [min, max], then characters uniform over the charset."""
    length = rng.randint(spec.min_length, spec.max_length)
    return "".join(rng.choice(spec.charset) for _ in range(length))


def render_captcha(
    text: str,
    rng: random.Random,
    *,
    background: str | Path | Image.Image | None = None,
    font: str | Path | None = None,
    spec: CaptchaSpec = CaptchaSpec(),
) -> Image.Image:
    """Render one captcha exactly as the public generator does (steps 1 and 3-6).

    Parameters
    ----------
    text : str
        The characters to draw.
    rng : random.Random
        Source of the text position (and of the procedural background when
        ``background`` is None).
    background : path or PIL image, optional
        The background picture; None draws a fresh procedural one.
    font : path, optional
        A TrueType font; None uses the project's Liberation Sans.
    spec : CaptchaSpec
        Size, colour and blur of the text.

    Returns
    -------
    image : PIL.Image.Image, mode "RGBA"
    """
    if not text:
        raise ValueError("text must not be empty")
    if background is None:
        image = network_background(spec.width, spec.height, rng=rng)
    elif isinstance(background, Image.Image):
        image = background.convert("RGBA").copy()
    else:
        image = _load_background(str(background)).copy()
    face = _load_font(str(font or DEFAULT_FONT), spec.font_size)
    bbox = face.getmask(text).getbbox()
    text_w, text_h = bbox[2], bbox[3]
    max_x, max_y = image.width - text_w, image.height - text_h
    if max_x < 0 or max_y < 0:
        raise ValueError(
            f"text {text!r} ({text_w}x{text_h} px at size {spec.font_size}) does not fit "
            f"a {image.width}x{image.height} background"
        )
    x, y = rng.randint(0, max_x), rng.randint(0, max_y)
    ImageDraw.Draw(image).text((x, y), text, fill=spec.fill, font=face)
    return image.filter(ImageFilter.GaussianBlur(spec.blur_radius))
