"""Worker processes that turn labelled captchas into training samples."""

from __future__ import annotations

import os
import random
from pathlib import Path

from common import exit_with_parent
from features import FeatureParams
from image_io import ImageDecodeError, decode_image, label_from_path
from segmentation import SegmentationParams
from training._samples import ImageSamples, image_samples

__all__ = ["init_worker", "sample_one"]

_STATE: dict = {}


def init_worker(
    class_index: dict[str, int],
    seg_params: SegmentationParams,
    feat_params: FeatureParams,
    max_garbage: int,
    seed: int,
    max_pixels: int,
    max_bytes: int,
    reader=None,
) -> None:
    """Store what every task needs once per process (not once per image).

    In a worker process it also arms :func:`common.lifeline.exit_with_parent`:
    a killed ``train`` leaves no worker behind.
    """
    exit_with_parent()
    _STATE.update(
        class_index=class_index,
        seg_params=seg_params,
        feat_params=feat_params,
        max_garbage=max_garbage,
        seed=seed,
        max_pixels=max_pixels,
        max_bytes=max_bytes,
        reader=reader,
    )


def sample_one(path: str) -> tuple[str, ImageSamples | None, str | None]:
    """Samples of one file: (path, samples or None, why it was skipped)."""
    s = _STATE
    label = label_from_path(path)
    try:
        image = decode_image(path, max_pixels=s["max_pixels"], max_bytes=s["max_bytes"], name=str(path))
    except ImageDecodeError as exc:
        return path, None, str(exc)
    # One generator per file: the samples do not depend on which worker ran it.
    rng = random.Random(f"{s['seed']}:{Path(path).name}")
    reader = s["reader"]
    result = image_samples(
        image,
        label,
        s["class_index"],
        len(s["class_index"]),
        s["seg_params"],
        s["feat_params"],
        max_garbage=s["max_garbage"],
        rng=rng,
        align=reader.align if reader is not None else None,
    )
    if result is None:
        return path, None, f"{os.path.basename(path)}: segmentation found no reading of {label!r}"
    return path, result, None
