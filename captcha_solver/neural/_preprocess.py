"""Image stages of the neural reader: pure functions over numpy arrays.

Training and inference call the same :func:`preprocess` with parameters
read from the same :class:`~neural.NeuralArch`, so the two can never
disagree. Nothing here reads files or holds state.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = [
    "crop_window",
    "ink_box",
    "preprocess",
    "preprocess_config",
    "text_grey",
    "text_window",
    "to_batch",
]


def text_grey(image: np.ndarray) -> np.ndarray:
    """Grey level with the text bright, whatever its polarity.

    Parameters
    ----------
    image : (H, W, 3) or (H, W) ndarray of uint8
        RGB captcha or grey image.

    Returns
    -------
    grey : (H, W) ndarray of uint8
        Minimum over the colour channels (as in the classical pipeline:
        grey text stays high, the coloured seed background drops near 0),
        inverted when Otsu's bright side covers more than half the picture
        (dark text on a light page).

    Raises
    ------
    ValueError
        If ``image`` is not a non-empty uint8 grey or RGB array.
    """
    if (
        not isinstance(image, np.ndarray)
        or image.dtype != np.uint8
        or image.ndim not in (2, 3)
        or image.size == 0
    ):
        got = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise ValueError(f"expected a uint8 (H, W) or (H, W, 3) image, got {got}")
    if image.ndim == 3:
        if image.shape[2] != 3:
            raise ValueError(f"expected 3 colour channels (RGB), got shape {image.shape}")
        r, g, b = cv2.split(image)
        grey = cv2.min(cv2.min(r, g), b)
    else:
        grey = np.ascontiguousarray(image)
    otsu, _ = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    if np.count_nonzero(grey > otsu) > grey.size / 2:
        grey = 255 - grey
    return grey


def ink_box(grey: np.ndarray, *, trim: float = 0.005) -> tuple[int, int, int, int] | None:
    """Bounding box of the bright (text) pixels, robust to a few specks.

    Parameters
    ----------
    grey : (H, W) ndarray of uint8
        Text-bright grey image from :func:`text_grey`.
    trim : float
        Fraction of ink pixels ignored at each end of each axis.

    Returns
    -------
    (y0, y1, x0, x1) : tuple of int, or None
        Half-open box; None when the image is flat (no ink side).
    """
    otsu, _ = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    mask = grey > otsu
    if not mask.any() or mask.all():
        return None
    # Quantiles of the row and column profiles rather than min/max, so a
    # stray bright dot of the background does not stretch the box.
    rows = np.cumsum(mask.sum(axis=1), dtype=np.float64)
    cols = np.cumsum(mask.sum(axis=0), dtype=np.float64)
    total = rows[-1]
    y0 = int(np.searchsorted(rows, trim * total, side="right"))
    y1 = int(np.searchsorted(rows, (1 - trim) * total, side="left")) + 1
    x0 = int(np.searchsorted(cols, trim * total, side="right"))
    x1 = int(np.searchsorted(cols, (1 - trim) * total, side="left")) + 1
    return y0, max(y1, y0 + 1), x0, max(x1, x0 + 1)


def crop_window(
    shape: tuple[int, int],
    box: tuple[int, int, int, int] | None,
    *,
    margin: float,
    window_ratio: float,
) -> tuple[int, int, int, int]:
    """The window to read: the ink box with a margin, at least ``window_ratio`` of the height.

    Parameters
    ----------
    shape : (H, W)
        Image size.
    box : (y0, y1, x0, x1) or None
        Ink box from :func:`ink_box`; None gives the whole image.
    margin : float
        Margin on every side, as a fraction of the window height.
    window_ratio : float
        Minimum window height as a fraction of ``H``: a fixed window keeps
        the scale of the text (lower case stays smaller than upper case).

    Returns
    -------
    (y0, y1, x0, x1) : tuple of int
        Half-open window inside the image.
    """
    h, w = shape
    if box is None:
        return 0, h, 0, w
    y0, y1, x0, x1 = box
    win_h = max((y1 - y0) * (1 + 2 * margin), window_ratio * h)
    win_h = round(min(win_h, h))
    # Centre the window on the ink, then slide it back inside the image.
    top = round((y0 + y1) / 2 - win_h / 2)
    top = min(max(top, 0), h - win_h)
    pad_x = round(margin * win_h)
    return top, top + win_h, max(x0 - pad_x, 0), min(x1 + pad_x, w)


def text_window(
    image: np.ndarray,
    *,
    height: int,
    max_width: int,
    crop: bool = True,
    crop_margin: float = 0.12,
    window_ratio: float = 0.0,
) -> np.ndarray:
    """The text-bright grey window to read, resized to ``height`` (aspect kept, width <= ``max_width``).

    Returns
    -------
    (height, W) ndarray of uint8

    Raises
    ------
    ValueError
        If ``image`` is not a uint8 grey or RGB array.
    """
    grey = text_grey(image)
    if crop:
        y0, y1, x0, x1 = crop_window(grey.shape, ink_box(grey), margin=crop_margin, window_ratio=window_ratio)
        grey = grey[y0:y1, x0:x1]
    h, w = grey.shape
    new_w = round(w * height / h)
    new_w = min(max(new_w, 1), max_width)
    interp = cv2.INTER_AREA if h > height else cv2.INTER_LINEAR
    return cv2.resize(grey, (new_w, height), interpolation=interp)


def preprocess(
    image: np.ndarray,
    *,
    height: int,
    max_width: int,
    min_width: int = 16,
    crop: bool = True,
    crop_margin: float = 0.12,
    window_ratio: float = 0.0,
    ink_scale: float = 0.0,
) -> np.ndarray:
    """Captcha to the network's input: text map cropped, resized to ``height``.

    Parameters
    ----------
    image : (H, W, 3) or (H, W) ndarray of uint8
        RGB or grey captcha; not modified.
    height : int
        Output height in pixels.
    max_width, min_width : int
        Width limits: a wider window is squeezed to ``max_width``, a
        narrower one padded on the right with background (0).
    crop, crop_margin, window_ratio
        See :class:`~neural.NeuralArch`.
    ink_scale : float
        0: stretch the window's background..99.5th percentile to 0..1;
        > 0: map background..background + ``ink_scale`` grey levels to 0..1
        (clipped at 1.5), keeping the brightness of strokes comparable
        between captchas.

    Returns
    -------
    x : (height, W) ndarray of float32
        Background 0, full ink about 1, ``min_width <= W <= max_width``.

    Raises
    ------
    ValueError
        If ``image`` is not a uint8 grey or RGB array.
    """
    small = text_window(
        image,
        height=height,
        max_width=max_width,
        crop=crop,
        crop_margin=crop_margin,
        window_ratio=window_ratio,
    )
    new_w = small.shape[1]
    # The background (median of the window) goes to 0 either way.
    lo = float(np.median(small))
    if ink_scale > 0:
        x = (small.astype(np.float32) - lo) / ink_scale
        np.clip(x, 0.0, 1.5, out=x)
    else:
        # Stretch background..text per image: robust to any text level.
        hi = float(np.percentile(small, 99.5))
        x = (small.astype(np.float32) - lo) / max(hi - lo, 8.0)
        np.clip(x, 0.0, 1.0, out=x)
    if new_w < min_width:
        x = np.pad(x, ((0, 0), (0, min_width - new_w)))
    return x


def preprocess_config(image: np.ndarray, config) -> np.ndarray:
    """:func:`preprocess` with the parameters of a :class:`~neural.NeuralArch`."""
    return preprocess(
        image,
        height=config.height,
        max_width=config.max_width,
        min_width=config.min_width,
        crop=config.crop,
        crop_margin=config.crop_margin,
        window_ratio=config.window_ratio,
        ink_scale=config.ink_scale if config.contrast == "fixed" else 0.0,
    )


def to_batch(arrays: list[np.ndarray], *, mean: float, std: float) -> tuple[np.ndarray, np.ndarray]:
    """Stack preprocessed images into a normalised, right-padded batch.

    Parameters
    ----------
    arrays : list of (H, W_i) ndarray of float32
        Outputs of :func:`preprocess`, same height.
    mean, std : float
        Normalisation ``(x - mean) / std``, applied after padding with 0
        (background), so padding looks like background.

    Returns
    -------
    batch : (N, 1, H, max W_i) ndarray of float32
    widths : (N,) ndarray of int64
        Width of each image before padding.

    Raises
    ------
    ValueError
        If ``arrays`` is empty or the heights differ.
    """
    if not arrays:
        raise ValueError("to_batch needs at least one image, got an empty list")
    heights = {a.shape[0] for a in arrays}
    if len(heights) != 1:
        raise ValueError(f"all images must have the same height, got heights {sorted(heights)}")
    widths = np.array([a.shape[1] for a in arrays], dtype=np.int64)
    batch = np.zeros((len(arrays), 1, arrays[0].shape[0], int(widths.max())), dtype=np.float32)
    for i, a in enumerate(arrays):
        batch[i, 0, :, : a.shape[1]] = a
    batch -= mean
    batch /= std
    return batch, widths
