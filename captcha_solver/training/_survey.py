"""What a folder of labelled captchas looks like, measured cheaply before any training."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence

import numpy as np

from captcha_solver.image_io import label_from_path, read_labelled
from segmentation import SegmentationParams, segment

__all__ = ["survey_dataset"]


def survey_dataset(
    paths: Sequence[str],
    seg_params: SegmentationParams,
    *,
    sample: int = 300,
    seed: int = 0,
    input_settings=None,
) -> dict:
    """Label statistics of every captcha, and image and segmentation statistics of a sample.

    Parameters
    ----------
    paths : sequence of str
        Labelled image files (``<label>.<ext>``).
    seg_params : SegmentationParams
        The segmentation the classical reader would train with.
    sample : int
        Captchas decoded and segmented (the rest only have their names read).
    seed : int
    input_settings : InputConfig, optional
        The ``input`` settings the images are decoded with (default: the decoder's limits).

    Returns
    -------
    dict
        ``images``, ``charset``, ``lengths`` (length -> count), ``sampled``,
        ``image_height``, ``image_width`` (medians), ``line_height`` (median
        text line height in pixels, from the segmentation), and
        ``segmentation_yield``: the part of sampled captchas that plain
        segmentation splits into exactly one component per character.
    """
    labels = [label_from_path(p) for p in paths]
    chosen = sorted(paths)
    random.Random(seed).shuffle(chosen)
    heights, widths, lines, matched, seen = [], [], [], 0, 0
    for _, label, rgb in read_labelled(chosen[:sample], input_settings):
        seen += 1
        heights.append(rgb.shape[0])
        widths.append(rgb.shape[1])
        seg = segment(rgb, seg_params)
        if seg.blobs:
            lines.append(float(seg.line.height))
        matched += len(seg.blobs) == len(label)
    return {
        "images": len(paths),
        "charset": "".join(sorted(set("".join(labels)))),
        "lengths": {str(k): v for k, v in sorted(Counter(len(y) for y in labels).items())},
        "sampled": seen,
        "image_height": float(np.median(heights)) if heights else 0.0,
        "image_width": float(np.median(widths)) if widths else 0.0,
        "line_height": float(np.median(lines)) if lines else 0.0,
        "segmentation_yield": round(matched / seen, 4) if seen else 0.0,
    }
