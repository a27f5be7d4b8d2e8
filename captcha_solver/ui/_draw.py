"""The segmentation picture: each glyph's box, label and confidence drawn over the captcha."""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

__all__ = ["confidence_colour", "draw_segmentation"]


def confidence_colour(confidence: float) -> tuple[int, int, int]:
    """RGB from red (0) through amber to green (1), so doubtful glyphs stand out."""
    c = min(max(float(confidence), 0.0), 1.0)
    if c < 0.5:
        return (220, int(60 + 2 * c * 140), 40)
    return (int(220 - (c - 0.5) * 2 * 190), 200, 40)


def draw_segmentation(
    image: np.ndarray,
    boxes: Sequence[Sequence[int]],
    text: str,
    char_confidences: Sequence[float],
    *,
    min_height: int = 240,
) -> np.ndarray:
    """Draw each glyph's box with its character and confidence above it.

    Parameters
    ----------
    image : (H, W, 3) ndarray of uint8
        The captcha, RGB. It is not modified.
    boxes : sequence of (x, y, w, h)
        One box per glyph, in image pixels.
    text : str
        The reading; character ``i`` belongs to box ``i`` (a missing one is drawn as ``?``).
    char_confidences : sequence of float
        Confidence of each character, 0..1.
    min_height : int, optional
        Small captchas are enlarged (integer factor, nearest neighbour) to at
        least this height, in pixels, so that the labels are legible.

    Returns
    -------
    picture : (H', W', 3) ndarray of uint8
        A new RGB image, with a margin on top for the labels.

    Raises
    ------
    ValueError
        If ``image`` is not an (H, W, 3) uint8 array.
    """
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be an (H, W, 3) uint8 RGB array, got {image.dtype} {image.shape}")
    scale = max(1, math.ceil(min_height / max(image.shape[0], 1)))
    big = (
        cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
        if scale > 1
        else image.copy()
    )
    # Labels go in a white band above the image so they never hide the glyphs.
    font, font_scale, thickness = cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1
    band = 2 * cv2.getTextSize("Ag", font, font_scale, thickness)[0][1] + 14
    canvas = np.full((big.shape[0] + band, big.shape[1], 3), 255, np.uint8)
    canvas[band:] = big
    for i, box in enumerate(boxes):
        x, y, w, h = (int(v) * scale for v in box)
        char = text[i] if i < len(text) else "?"
        conf = float(char_confidences[i]) if i < len(char_confidences) else 0.0
        colour = confidence_colour(conf)
        cv2.rectangle(canvas, (x, y + band), (x + w - 1, y + h - 1 + band), colour, 2)
        # Two lines in the band: the character, then its confidence; staggered so neighbours do not overlap.
        line = cv2.getTextSize("Ag", font, font_scale, thickness)[0][1] + 4
        cv2.putText(canvas, char, (x, line + 2), font, font_scale, colour, thickness + 1, cv2.LINE_AA)
        cv2.putText(
            canvas, f"{conf:.2f}", (x, 2 * line + 4), font, font_scale * 0.8, colour, thickness, cv2.LINE_AA
        )
        cv2.line(canvas, (x, 2 * line + 6), (x, y + band), colour, 1)
    return canvas
