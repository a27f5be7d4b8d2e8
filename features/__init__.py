"""Glyph features: HOG of the size-normalised glyph plus size, place, stroke and spacing cues."""

from __future__ import annotations

import numpy as np

from features._glyph import (
    GEOMETRY_NAMES,
    FeatureParams,
    geometry_features,
    glyph_extent,
    glyph_image,
    glyph_ink,
)
from features._hog import hog_batch
from segmentation import Segmentation

__all__ = [
    "FeatureParams",
    "GEOMETRY_NAMES",
    "extract_features",
    "feature_count",
    "glyph_extent",
    "glyph_image",
    "hog_batch",
]


def feature_count(params: FeatureParams) -> int:
    """Length of a feature vector for ``params``."""
    n_cells = params.glyph_size // params.hog_pixels_per_cell
    n_blocks = n_cells - params.hog_cells_per_block + 1
    return n_blocks**2 * params.hog_cells_per_block**2 * params.hog_orientations + len(GEOMETRY_NAMES)


def extract_features(seg: Segmentation, spans: list[tuple[int, int]], params: FeatureParams) -> np.ndarray:
    """Feature vectors of the glyph candidates ``spans`` of one captcha.

    Parameters
    ----------
    seg : Segmentation
    spans : list of (start, stop)
        Runs of atoms, each one glyph candidate.
    params : FeatureParams

    Returns
    -------
    X : (len(spans), feature_count(params)) ndarray of float32
    """
    if not spans:
        return np.zeros((0, feature_count(params)), np.float32)
    pictures = np.empty((len(spans), params.glyph_size, params.glyph_size), np.float32)
    geometry = np.empty((len(spans), len(GEOMETRY_NAMES)), np.float32)
    for k, (start, stop) in enumerate(spans):
        crop = glyph_ink(seg.text.ink, seg.span(start, stop), params.halo_px)
        pictures[k] = glyph_image(crop, params.glyph_size)
        geometry[k] = geometry_features(seg, start, stop, crop, params.halo_px)
    hog = hog_batch(
        pictures,
        orientations=params.hog_orientations,
        pixels_per_cell=params.hog_pixels_per_cell,
        cells_per_block=params.hog_cells_per_block,
    )
    return np.hstack([hog, geometry])
