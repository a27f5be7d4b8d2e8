"""Size-normalised glyph pictures and the shape cues HOG cannot see."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from segmentation import Blob, Segmentation

__all__ = ["FeatureParams", "glyph_image", "glyph_extent", "geometry_features", "GEOMETRY_NAMES"]


@dataclass(frozen=True)
class FeatureParams:
    """Settings of the features (config.yaml, section ``features``)."""

    glyph_size: int = 32
    hog_orientations: int = 9
    hog_pixels_per_cell: int = 8
    hog_cells_per_block: int = 2
    halo_px: int = 2


_KERNELS: dict[int, np.ndarray] = {}


def _halo(mask: np.ndarray, halo_px: int) -> np.ndarray:
    """The glyph's mask grown by its blur halo (so faint edges count)."""
    if halo_px <= 0:
        return mask
    kernel = _KERNELS.setdefault(
        halo_px, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * halo_px + 1,) * 2)
    )
    padded = np.pad(mask.astype(np.uint8), halo_px)
    return cv2.dilate(padded, kernel).astype(bool)


def glyph_ink(ink: np.ndarray, blob: Blob, halo_px: int) -> np.ndarray:
    """Ink of the glyph's own pixels (and halo) in its box grown by ``halo_px``.

    Pixels of neighbouring glyphs that fall in the box are zeroed, so a
    kerned neighbour does not leak into the glyph's picture.
    """
    h, w = ink.shape
    y0, y1 = blob.y0 - halo_px, blob.y1 + halo_px
    x0, x1 = blob.x0 - halo_px, blob.x1 + halo_px
    crop = np.zeros((y1 - y0, x1 - x0), np.float32)
    sy0, sy1, sx0, sx1 = max(y0, 0), min(y1, h), max(x0, 0), min(x1, w)
    crop[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = ink[sy0:sy1, sx0:sx1]
    return crop * _halo(blob.mask, halo_px)


#: Ink strength at which :func:`glyph_extent` reads a glyph's edges: low on the
#: blur's ramp, where a stroke's edge moves least with the background.
EDGE_LEVEL = 0.3
#: How far beyond its mask a glyph's edge is looked for (the seed style's blur
#: ramp is about 3 px wide).
EDGE_HALO_PX = 4


def glyph_extent(ink: np.ndarray, blob: Blob, level: float = EDGE_LEVEL, halo_px: int = EDGE_HALO_PX):
    """The glyph's left and right edges, in pixels to a fraction of one.

    Where its column profile (the strongest ink of each column of its own
    pixels and halo) crosses ``level``, interpolated between columns, in
    image coordinates with pixel centres at whole numbers. The mask's own
    extent moves by whole pixels, and by the threshold's height on the
    blur's ramp; the crossing is the steadier measure of a side bearing
    (the seed font's l and I differ by 2-3 px of bearing).

    Returns
    -------
    (left, right) : tuple of float
        The blob's own columns when no column reaches ``level``.
    """
    profile = glyph_ink(ink, blob, halo_px).max(axis=0)
    cols = np.flatnonzero(profile >= level)
    if not cols.size:
        return float(blob.x0), float(blob.x1 - 1)
    i, j = int(cols[0]), int(cols[-1])
    left, right = float(i), float(j)
    if i > 0 and profile[i] > profile[i - 1]:
        left = i - (profile[i] - level) / (profile[i] - profile[i - 1])
    if j < len(profile) - 1 and profile[j] > profile[j + 1]:
        right = j + (profile[j] - level) / (profile[j] - profile[j + 1])
    origin = blob.x0 - halo_px
    return origin + left, origin + right


def glyph_image(crop: np.ndarray, size: int) -> np.ndarray:
    """Fit a glyph crop into a ``size`` x ``size`` square, aspect ratio kept.

    The longer side fills 7/8 of the square, centred: HOG's border cells
    then still see the glyph's outer edges.
    """
    h, w = crop.shape
    scale = (size * 7 / 8) / max(h, w)
    nh, nw = max(1, int(round(h * scale))), max(1, int(round(w * scale)))
    small = cv2.resize(crop, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    out = np.zeros((size, size), np.float32)
    oy, ox = (size - nh) // 2, (size - nw) // 2
    out[oy : oy + nh, ox : ox + nw] = small
    return out


GEOMETRY_NAMES = (
    "height_rel",
    "width_rel",
    "aspect",
    "top_rel",
    "bottom_rel",
    "height_px",
    "width_px",
    "top_px",
    "bottom_px",
    "bottom_clearance",
    "ink_density",
    "stroke_px",
    "stroke_peak",
    "gap_left_rel",
    "gap_right_rel",
    "n_atoms",
    "fill_ratio",
)


def geometry_features(seg: Segmentation, start: int, stop: int, crop: np.ndarray, halo_px: int) -> np.ndarray:
    """Cues that tell same-shape characters apart (c/C, o/O, l/I, ...).

    HOG of a size-normalised glyph loses its size and place, so these say
    how tall the glyph is and where it sits against the text line (in line
    heights and in pixels: at a fixed font size the pixels are the sharper
    cue), how heavy its strokes are, and how far its neighbours stand
    (side bearings). ``bottom_clearance`` tells a glyph cut by the image's
    lower edge from one that ends there.
    """
    blob = seg.span(start, stop)
    line = seg.line
    image_h = seg.image_shape[0]
    lh = line.height
    h, w = blob.height, blob.width
    gap_left = (blob.x0 - seg.atoms[start - 1].x1) / lh if start > 0 else None
    gap_right = (seg.atoms[stop].x0 - blob.x1) / lh if stop < len(seg.atoms) else None
    # A glyph at either end of the text has one neighbour: mirror its gap, so
    # that an l that starts the text does not look like a widely spaced I.
    if gap_left is None:
        gap_left = gap_right if gap_right is not None else 0.15
    if gap_right is None:
        gap_right = gap_left
    inner = crop[halo_px : crop.shape[0] - halo_px] if crop.shape[0] > 2 * halo_px else crop
    row_ink = inner.sum(axis=1)
    stroke = float(np.median(row_ink[row_ink > 0])) if np.any(row_ink > 0) else 0.0
    area = float(blob.mask.sum())
    # Peak grey level per row, median over rows: a blurred bar's peak grows
    # with its width, so l (8.4 px) and I (9.0 px) of the seed font differ
    # by about 5 grey levels, far above the noise the background adds.
    grey = seg.text.grey[blob.y0 : blob.y1, blob.x0 : blob.x1]
    row_peak = np.where(blob.mask, grey, 0).max(axis=1)
    stroke_peak = (float(np.median(row_peak)) - seg.text.background_level) / 255.0
    return np.array(
        [
            h / lh,
            w / lh,
            w / h,
            (blob.y0 - line.top) / lh,
            (blob.y1 - line.baseline) / lh,
            h / 100.0,
            w / 100.0,
            (blob.y0 - line.top) / 100.0,
            (blob.y1 - line.top) / 100.0,
            min(image_h - blob.y1, 50) / 50.0,
            float(crop.sum()) / max(area, 1.0),
            stroke / 10.0,
            stroke_peak,
            float(np.clip(gap_left, -1.0, 2.0)),
            float(np.clip(gap_right, -1.0, 2.0)),
            float(stop - start),
            area / (h * w),
        ],
        dtype=np.float32,
    )
