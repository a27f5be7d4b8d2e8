"""Training samples: feature vectors of true glyphs and of garbage candidates."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from captcha_solver.glyph_reader import Reading
from features import FeatureParams, extract_features
from segmentation import Segmentation, SegmentationParams, segment

__all__ = ["ImageSamples", "image_samples"]


@dataclass
class ImageSamples:
    """Samples of one labelled captcha (``X`` rows, ``y`` class indices)."""

    X: np.ndarray
    y: np.ndarray
    aligned: bool  # True when forced alignment, not the plain segmentation, found the glyphs


def image_samples(
    image: np.ndarray,
    label: str,
    class_index: dict[str, int],
    garbage: int,
    seg_params: SegmentationParams,
    feat_params: FeatureParams,
    *,
    max_garbage: int,
    rng: random.Random,
    align: Callable[[Segmentation, list[int]], Reading | None] | None = None,
) -> ImageSamples | None:
    """Samples of one captcha, or None if its glyphs cannot be found.

    When the plain segmentation yields one blob per character, the blobs are
    the glyphs. Otherwise ``align`` (a forced alignment with an already
    trained classifier) may find which atoms make each character. Every
    other candidate is a garbage sample (at most ``max_garbage``, drawn at
    random) so that the classifier learns to reject pieces and pairs.
    """
    seg = segment(image, seg_params)
    target = [class_index[c] for c in label]
    spans = seg.blob_spans()
    aligned = False
    if len(spans) != len(label):
        if align is None:
            return None
        reading = align(seg, target)
        if reading is None:
            return None
        spans, aligned = list(reading.spans), True
    true = set(spans)
    others = [
        s for s in seg.candidate_spans(seg_params.max_span, seg_params.max_glyph_width_ratio) if s not in true
    ]
    others = rng.sample(others, min(max_garbage, len(others)))
    X = extract_features(seg, list(spans) + others, feat_params)
    y = np.array(target + [garbage] * len(others), dtype=np.int64)
    return ImageSamples(X, y, aligned)
