"""Views of a captcha for the consistency check of self-training: the same text, slightly moved.

A reading is kept as a pseudo-label only if the model reads the same text in
every view (consistency under augmentation). On ImageCaptcha the model's
surest wrong readings drop a character where the package drew two glyphs
on top of each other, and their confidence is as high as the right ones':
of the labelled-only model's (1,000 labels) 2,698 surest readings of 8,995,
98.1% were right, 50 of the 51 wrong ones a character short; of those whose
four views agree, the 3,016 surest were 99.0% right
(``bench/pseudo_label_precision.py``).
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["VIEWS", "augmented_views"]

#: The views: horizontal shifts in pixels, then width scales about the centre.
SHIFTS = (-3, 3)
SCALES = (0.92, 1.08)
VIEWS = len(SHIFTS) + len(SCALES)


def augmented_views(rgb: np.ndarray) -> list[np.ndarray]:
    """The captcha shifted 3 px left and right and squeezed and stretched 8% in width (edges replicated).

    Parameters
    ----------
    rgb : np.ndarray
        (H, W, 3) uint8 image.

    Returns
    -------
    list of np.ndarray
        :data:`VIEWS` images of the same shape and type.
    """
    h, w = rgb.shape[:2]
    mats = [np.float32([[1, 0, dx], [0, 1, 0]]) for dx in SHIFTS]
    mats += [np.float32([[s, 0, (1 - s) * w / 2], [0, 1, 0]]) for s in SCALES]
    return [cv2.warpAffine(rgb, m, (w, h), borderMode=cv2.BORDER_REPLICATE) for m in mats]
