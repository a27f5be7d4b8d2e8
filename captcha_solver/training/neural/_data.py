"""The neural reader's training data: labels and charset, preprocessing scales, augmentation, batches."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch
from tqdm.auto import tqdm

from captcha_solver.image_io import charset_of, read_labelled
from captcha_solver.neural import ink_box, preprocess_config, text_grey, text_window
from captcha_solver.training.neural._config import NeuralTrainingConfig

__all__ = ["TrainingSet", "learn_charset", "prepare"]


def learn_charset(labels: list[str], paths: list[Path] | None = None, charset: str = "") -> str:
    """The sorted set of characters of ``labels`` (case-sensitive), or check them against ``charset``.

    Raises
    ------
    ValueError
        If a label is empty, or has a character outside a given ``charset``
        (the message names the file and the characters).
    """
    for i, label in enumerate(labels):
        where = f"{paths[i]}" if paths is not None else f"label #{i}"
        if not label:
            raise ValueError(f"{where}: empty label (the file name stem is the label)")
        if charset:
            bad = sorted(set(label) - set(charset))
            if bad:
                raise ValueError(
                    f"{where}: label {label!r} has characters {bad} outside the charset {charset!r}; "
                    f"fix the label or train with charset='' to learn it from the labels"
                )
    return charset or charset_of(labels)


def window_ratio_of(images: list[np.ndarray], margin: float) -> float:
    """Window height (fraction of the image height) that holds the tallest ink of the style."""
    ratios = []
    for im in images:
        grey = text_grey(im)
        box = ink_box(grey)
        if box is not None:
            ratios.append((box[1] - box[0]) * (1 + 2 * margin) / grey.shape[0])
    if not ratios:
        return 0.0
    # A high quantile, not the max: one outlier box should not shrink every text.
    return float(min(np.quantile(ratios, 0.99) * 1.02, 1.0))


def ink_scale_of(images: list[np.ndarray], cfg: NeuralTrainingConfig) -> float:
    """Median over images of the window's 99.5th-percentile grey above its background."""
    spans = []
    for im in images:
        small = text_window(
            im,
            height=cfg.height,
            max_width=cfg.max_width,
            crop=cfg.crop,
            crop_margin=cfg.crop_margin,
            window_ratio=cfg.window_ratio,
        ).astype(np.float32)
        spans.append(float(np.percentile(small, 99.5) - np.median(small)))
    return float(max(np.median(spans), 8.0)) if spans else 255.0


def augment(x: np.ndarray, rng: np.random.Generator, cfg: NeuralTrainingConfig) -> np.ndarray:
    """Captcha-like jitter of a preprocessed (H, W) float image in [0, 1]."""
    h, w = x.shape
    if cfg.aug_affine:
        # Small rotation, shear and scale: larger ones would change the
        # text size that tells lower from upper case.
        angle = rng.uniform(-3, 3)
        scale = rng.uniform(0.95, 1.05)
        shear = rng.uniform(-0.15, 0.15)
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
        m[0, 1] += shear
        m[0, 2] += -shear * h / 2 + rng.uniform(-3, 3)
        m[1, 2] += rng.uniform(-1.5, 1.5)
        new_w = round(w * rng.uniform(0.92, 1.08)) if cfg.aug_stretch else w
        m[0] *= new_w / w
        w = min(max(new_w, cfg.min_width), cfg.max_width)
        x = cv2.warpAffine(
            x,
            m,
            (w, h),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0,
        )
    if cfg.aug_blur and rng.random() < 0.3:
        x = cv2.GaussianBlur(x, (0, 0), rng.uniform(0.3, 0.9))
    if cfg.aug_contrast and rng.random() < 0.5:
        # With a fixed ink scale the brightness is a cue: jitter it less.
        gain = (0.95, 1.05) if cfg.contrast == "fixed" else (0.7, 1.1)
        x = x * rng.uniform(*gain) + rng.uniform(-0.03, 0.05)
    if cfg.aug_noise and rng.random() < 0.5:
        x = x + rng.normal(0, rng.uniform(0.01, 0.08), x.shape).astype(np.float32)
    return np.clip(x, 0.0, 1.5).astype(np.float32)


def batches(widths: np.ndarray, batch_size: int, rng: np.random.Generator | None) -> list[np.ndarray]:
    """Index batches of similar width (little padding); shuffled when ``rng`` is given."""
    order = rng.permutation(len(widths)) if rng is not None else np.arange(len(widths))
    chunk = batch_size * 20
    batches = []
    for s in range(0, len(order), chunk):
        part = order[s : s + chunk]
        part = part[np.argsort(widths[part], kind="stable")]
        batches += [part[i : i + batch_size] for i in range(0, len(part), batch_size)]
    if rng is not None:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def encode(labels: list[str], charset: str) -> tuple[torch.Tensor, torch.Tensor]:
    """CTC targets (flat class indices, ``charset[i]`` is ``i + 1``) and their lengths."""
    index = {ch: i + 1 for i, ch in enumerate(charset)}
    flat = [index[ch] for label in labels for ch in label]
    return torch.tensor(flat, dtype=torch.long), torch.tensor([len(s) for s in labels], dtype=torch.long)


@dataclass
class TrainingSet:
    """Preprocessed training and validation captchas, and the config with the scales learned from them."""

    config: NeuralTrainingConfig
    paths: list[Path]
    train_arrays: list[np.ndarray]
    train_labels: list[str]
    val_arrays: list[np.ndarray]
    val_labels: list[str]
    val_files: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)


def prepare(
    paths, val_paths, cfg: NeuralTrainingConfig, *, progress: bool, log: logging.Logger, input_settings=None
) -> TrainingSet:
    """Check the labels, learn the scales and preprocess every captcha of the run's split.

    Every file is read through the one labelled-image reader
    (:func:`captcha_solver.image_io.read_labelled`, within the ``input``
    limits): one that cannot be read is left out and listed in
    :attr:`TrainingSet.skipped` with the reason; the run goes on.

    Raises
    ------
    ValueError
        If ``val_paths`` is empty, fewer than ``cfg.min_images`` images can
        be read, or a label is empty or outside a given charset.
    """
    train_paths = sorted(Path(p) for p in paths)
    given_val = sorted(Path(p) for p in val_paths)
    if not given_val:
        raise ValueError("val_paths is empty: give at least one validation image")
    skipped: list[tuple[str, str]] = []
    # Learn the crop window and the ink scale on a sample, then decode and
    # preprocess one image at a time: full-size RGB captchas of a large set
    # would not fit in memory (8,000 seed captchas are 5 GB decoded).
    # The sample's unreadable files are listed by the full pass below.
    sample = [rgb for _, _, rgb in read_labelled(train_paths[:1000], input_settings)]
    window_ratio = cfg.window_ratio
    if cfg.crop and window_ratio == 0.0:
        window_ratio = window_ratio_of(sample, cfg.crop_margin)
    cfg = cfg.replace(window_ratio=window_ratio)
    if cfg.contrast == "fixed" and cfg.ink_scale == 0.0:
        # Learned like window_ratio: the style's typical background-to-ink span.
        cfg = cfg.replace(ink_scale=ink_scale_of(sample[:500], cfg))
    del sample
    all_paths = train_paths + given_val
    shown = tqdm(all_paths, desc="decode", disable=not progress, leave=False)
    # One image decoded at a time, preprocessed at once (preprocessing needs the scales, not the charset).
    kept, labels, arrays = [], [], []
    for path, label, rgb in read_labelled(shown, input_settings, skipped=skipped):
        kept.append(Path(path))
        labels.append(label)
        arrays.append(preprocess_config(rgb, cfg))
    if len(kept) < cfg.min_images:
        raise ValueError(
            f"neural training needs at least {cfg.min_images} labelled images, could read {len(kept)} "
            f"of {len(all_paths)}; add images or lower training.min_images"
        )
    charset = learn_charset(labels, kept, cfg.charset)
    lengths = [len(s) for s in labels]
    cfg = cfg.replace(charset=charset, min_length=min(lengths), max_length=max(lengths))
    in_train = set(train_paths)
    n_train = sum(1 for p in kept if p in in_train)
    log.info(
        "neural: %d images (%d train, %d val, %d unreadable skipped), charset %r (%d), lengths %d-%d, "
        "window_ratio %.3f, ink_scale %.1f",
        len(kept),
        n_train,
        len(kept) - n_train,
        len(skipped),
        charset,
        len(charset),
        cfg.min_length,
        cfg.max_length,
        window_ratio,
        cfg.ink_scale,
    )
    return TrainingSet(
        config=cfg,
        paths=kept,
        train_arrays=arrays[:n_train],
        train_labels=labels[:n_train],
        val_arrays=arrays[n_train:],
        val_labels=labels[n_train:],
        val_files=sorted(p.name for p in kept[n_train:]),
        skipped=skipped,
    )
