"""Separate the text from the background by grey level.

The seed captchas draw neutral grey text (R = G = B) on a dark-cyan picture,
so the smallest of the three channels is high on text and near zero on the
picture, whose red channel is dark. On a grey or colourless style the
minimum is just the grey level. Otsu's threshold on that channel splits
text from background; the text is whichever side covers fewer pixels, so
dark text on a light page works too.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["TextMap", "text_map", "binarize"]


@dataclass(frozen=True)
class TextMap:
    """Text likelihood of every pixel, 0 (background) to 1 (full ink).

    Attributes
    ----------
    ink : (H, W) ndarray of float32
        ``(grey - background_level) / (text_level - background_level)``,
        clipped to [0, 1], with the text made bright whatever its polarity.
    grey : (H, W) ndarray of uint8
        The grey level the map was made from, text bright: kept because
        the exact peak level of a stroke measures its width (the blur
        lowers the peak of a thin stroke more than that of a thick one).
    background_level, text_level : float
        The grey levels that map to 0 and 1.
    inverted : bool
        True when the text was darker than the background.
    """

    ink: np.ndarray
    grey: np.ndarray
    background_level: float
    text_level: float
    inverted: bool


def text_map(image: np.ndarray, *, text_percentile: float = 90.0) -> TextMap:
    """Map a captcha to per-pixel ink strength.

    Parameters
    ----------
    image : (H, W, 3) ndarray of uint8
        RGB captcha (or (H, W) grey).
    text_percentile : float
        Percentile of the text side's grey levels taken as full ink; below
        100 so that a few saturated pixels do not set the scale.

    Returns
    -------
    TextMap

    Raises
    ------
    ValueError
        If the image is not a non-empty uint8 grey or RGB array.
    """
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or image.size == 0:
        raise ValueError(f"expected a uint8 (H, W) or (H, W, 3) image, got {image.dtype} {image.shape}")
    if image.ndim == 2:
        grey = np.ascontiguousarray(image)
    else:
        # cv2.min on channel planes: several times faster than ndarray.min(axis=2).
        r, g, b = cv2.split(image)
        grey = cv2.min(cv2.min(r, g), b)
    otsu, _ = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    otsu = int(otsu)
    # Levels from the 256-bin histogram: no sort of the whole image.
    hist = np.bincount(grey.ravel(), minlength=256).astype(np.int64)
    n_bright = int(hist[otsu + 1 :].sum())
    inverted = n_bright > grey.size / 2
    if inverted:
        grey = 255 - grey
        hist = hist[::-1].copy()
        otsu = 254 - otsu
        n_bright = int(hist[otsu + 1 :].sum())
    # A flat image has no text side: every pixel is background.
    if n_bright == 0 or n_bright == grey.size:
        level = float(grey.mean())
        return TextMap(np.zeros(grey.shape, np.float32), grey, level, level + 1.0, inverted)
    background_level = _hist_percentile(hist[: otsu + 1], 50.0)
    text_level = otsu + 1 + _hist_percentile(hist[otsu + 1 :], text_percentile)
    scale = max(text_level - background_level, 1.0)
    # A 256-entry lookup table maps grey to ink without float maths per pixel.
    lut = np.clip((np.arange(256, dtype=np.float32) - background_level) / scale, 0.0, 1.0).astype(np.float32)
    ink = lut[grey]
    return TextMap(ink, grey, background_level, text_level, inverted)


def _hist_percentile(hist: np.ndarray, q: float) -> float:
    """The ``q``-th percentile (0..100) of the values a histogram counts (lower value on ties)."""
    cumulative = np.cumsum(hist)
    rank = q / 100.0 * (cumulative[-1] - 1)
    return float(np.searchsorted(cumulative, rank, side="right"))


def binarize(ink: np.ndarray, threshold_ratio: float) -> np.ndarray:
    """Pixels whose ink strength is above ``threshold_ratio`` (0..1).

    A high ratio (about 0.6-0.75) keeps the blurred gaps between
    neighbouring glyphs open; strokes stay whole since their cores reach
    full ink.
    """
    if not 0.0 < threshold_ratio < 1.0:
        raise ValueError(f"threshold_ratio must be in (0, 1), got {threshold_ratio}")
    return (ink > threshold_ratio).astype(np.uint8)
