"""Worker processes that turn labelled captchas into training samples."""

from __future__ import annotations

import os
import random
from pathlib import Path

from captcha_solver.common import exit_with_parent
from captcha_solver.image_io import read_labelled
from captcha_solver.training.classical._samples import ImageSamples, image_samples
from features import FeatureParams
from segmentation import SegmentationParams

__all__ = ["init_pool_worker", "init_worker", "sample_one"]

_STATE: dict = {}


def init_worker(
    class_index: dict[str, int],
    seg_params: SegmentationParams,
    feat_params: FeatureParams,
    max_garbage: int,
    seed: int,
    limits,
    reader=None,
) -> None:
    """Store what every task needs once per process (not once per image)."""
    _STATE.update(
        class_index=class_index,
        seg_params=seg_params,
        feat_params=feat_params,
        max_garbage=max_garbage,
        seed=seed,
        limits=limits,
        reader=reader,
    )


def init_pool_worker(*args) -> None:
    """Initializer of a pool worker: :func:`init_worker`, and exit when the parent dies.

    A killed ``train`` must not leave its workers behind
    (:func:`common.exit_with_parent`); the inline, one-process path calls
    :func:`init_worker` alone.
    """
    exit_with_parent()
    init_worker(*args)


def sample_one(path: str) -> tuple[str, ImageSamples | None, str | None]:
    """Samples of one file: (path, samples or None, why it was skipped)."""
    s = _STATE
    skipped: list[tuple[str, str]] = []
    read = list(read_labelled([path], s["limits"], skipped=skipped))
    if not read:
        return path, None, skipped[0][1]
    _, label, image = read[0]
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
