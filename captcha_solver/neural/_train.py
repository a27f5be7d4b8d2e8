"""Training: labelled images in, ``neural_reader.onnx`` + ``neural_reader.json`` out.

nanoGPT-style: one function, one loop, the config stored in every
checkpoint. The data are decoded and preprocessed once into memory;
augmentation works on the small preprocessed arrays, so an epoch costs
little more than the network itself.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import logging
import math
import os
import platform
import time
import warnings
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from captcha_solver.common import atomic_write_bytes, atomic_write_text
from captcha_solver.evaluation import edit_distance
from captcha_solver.image_io import charset_of, decode_image, label_from_path, split_dataset
from captcha_solver.neural._config import BLANK, NeuralConfig, output_length
from captcha_solver.neural._decode import greedy_decode
from captcha_solver.neural._model import CRNN
from captcha_solver.neural._preprocess import (
    ink_box,
    preprocess_config,
    text_grey,
    text_window,
    to_batch,
)
from captcha_solver.neural._reader import META_FORMAT, META_NAME, ONNX_NAME

__all__ = [
    "CHECKPOINT_NAME",
    "expected_calibration_error",
    "fit_calibration",
    "learn_charset",
    "train_neural",
]

CHECKPOINT_NAME = "neural_checkpoint.pt"


def learn_charset(
    labels: list[str], paths: list[Path] | None = None, charset: str = ""
) -> str:
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


def _window_ratio(images: list[np.ndarray], margin: float) -> float:
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


def _ink_scale(images: list[np.ndarray], cfg: NeuralConfig) -> float:
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


def _augment(x: np.ndarray, rng: np.random.Generator, cfg: NeuralConfig) -> np.ndarray:
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


def _batches(
    widths: np.ndarray, batch_size: int, rng: np.random.Generator | None
) -> list[np.ndarray]:
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


class _WeightAverage:
    """Exponential moving average of the weights and BatchNorm statistics.

    The average of the last few thousand steps generalises better than the
    last step's weights on small datasets (Polyak averaging); it is what is
    validated, kept as best and exported.
    """

    def __init__(self, model: CRNN, decay: float):
        self.decay = decay
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: CRNN, step: int) -> None:
        # Ramped: early on (and in short runs) the average follows the recent
        # weights instead of holding on to the random initialisation.
        d = min(self.decay, (1 + step) / (10 + step))
        for avg, cur in zip(self.model.state_dict().values(), model.state_dict().values()):
            if avg.dtype.is_floating_point:
                avg.mul_(d).add_(cur, alpha=1 - d)
            else:  # BatchNorm's batch counter
                avg.copy_(cur)


def _lr_at(step: int, total_steps: int, lr: float) -> float:
    """Linear warm-up over 10% of the steps, then cosine decay to lr / 50.

    A function of the step alone (nanoGPT-style), so a resumed run with
    more epochs simply stretches the schedule.
    """
    warmup = max(1, total_steps // 10)
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
    return lr / 50 + (lr - lr / 50) * 0.5 * (1 + math.cos(math.pi * progress))


def planned_epochs(
    max_epochs: int, max_minutes: float, elapsed_s: float, epoch_s: float, epochs_done: int
) -> int:
    """Epochs a run can afford: all ``max_epochs``, or what fits the time budget.

    ``elapsed_s`` is the time spent so far (preprocessing included),
    ``epoch_s`` the cost of one epoch with its validation. Never fewer
    than ``epochs_done`` (and at least one).
    """
    if max_minutes <= 0:
        return max_epochs
    fits = epochs_done + int(max(0.0, max_minutes * 60 - elapsed_s) // max(epoch_s, 1e-6))
    return max(1, epochs_done, min(max_epochs, fits))


def _encode(labels: list[str], charset: str) -> tuple[torch.Tensor, torch.Tensor]:
    index = {ch: i + 1 for i, ch in enumerate(charset)}
    flat = [index[ch] for label in labels for ch in label]
    return torch.tensor(flat, dtype=torch.long), torch.tensor(
        [len(s) for s in labels], dtype=torch.long
    )


@torch.no_grad()
def _predict(
    model: CRNN, arrays: list[np.ndarray], cfg: NeuralConfig
) -> list[np.ndarray]:
    """Per-image (T_i, C) log-probs, padding frames cut off."""
    model.eval()
    widths = np.array([a.shape[1] for a in arrays])
    out: list[np.ndarray] = [None] * len(arrays)  # type: ignore[list-item]
    # Batches of one width only: no padding, so the BiGRU sees exactly what
    # the reader will (padding would change the backward direction).
    groups = [np.flatnonzero(widths == w) for w in np.unique(widths)]
    for idx in (g[i : i + 64] for g in groups for i in range(0, len(g), 64)):
        batch, w = to_batch([arrays[i] for i in idx], mean=cfg.mean, std=cfg.std)
        lp = model(torch.from_numpy(batch)).numpy()
        for j, i in enumerate(idx):
            out[i] = lp[j, : max(output_length(int(w[j]), cfg.frame_stride), 1)]
    return out


def expected_calibration_error(confidences, correct, bins: int = 10) -> float:
    """ECE: mean |accuracy - confidence| over equal-width bins, weighted by bin size."""
    conf = np.asarray(confidences, dtype=np.float64)
    ok = np.asarray(correct, dtype=np.float64)
    if conf.size == 0:
        return 0.0
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        sel = which == b
        if sel.any():
            ece += sel.mean() * abs(ok[sel].mean() - conf[sel].mean())
    return float(ece)


def fit_calibration(raw_confidences, correct, *, min_each: int = 5) -> float:
    """Power ``a`` in [0.25, 4] so that ``raw ** a`` best predicts correctness (least Brier score).

    With fewer than ``min_each`` right or wrong readings there is no
    evidence to bend the curve with, and 1.0 is returned.
    """
    raw = np.clip(np.asarray(raw_confidences, dtype=np.float64), 1e-12, 1.0)
    ok = np.asarray(correct, dtype=np.float64)
    if raw.size == 0 or ok.sum() < min_each or (1 - ok).sum() < min_each:
        return 1.0
    grid = np.exp(np.linspace(np.log(0.25), np.log(4.0), 81))
    scores = [np.mean((raw**a - ok) ** 2) for a in grid]
    return float(grid[int(np.argmin(scores))])


def _evaluate(model, arrays, labels, cfg) -> dict:
    lps = _predict(model, arrays, cfg)
    texts, raw = [], []
    for lp in lps:
        text, confs = greedy_decode(lp, cfg.charset)
        texts.append(text)
        raw.append(float(np.prod(confs)) if text else 0.0)
    correct = np.array([t == y for t, y in zip(texts, labels)])
    chars = sum(len(y) for y in labels)
    errors = sum(edit_distance(t, y) for t, y in zip(texts, labels))
    return {
        "exact": float(correct.mean()),
        "cer": errors / max(chars, 1),
        "texts": texts,
        "raw_conf": raw,
        "correct": correct,
        "log_probs": lps,
    }


def _export_onnx(model: CRNN, cfg: NeuralConfig, example: np.ndarray) -> bytes:
    model.eval()
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore"
        )  # the TorchScript exporter's deprecation and GRU notes
        torch.onnx.export(
            model,
            (torch.from_numpy(example),),
            buf,
            input_names=["image"],
            output_names=["log_probs"],
            dynamic_axes={
                "image": {0: "batch", 3: "width"},
                "log_probs": {0: "batch", 1: "frames"},
            },
            opset_version=17,
            dynamo=False,
        )
    return buf.getvalue()


def _parity(
    onnx_bytes: bytes, model: CRNN, arrays: list[np.ndarray], cfg: NeuralConfig
) -> float:
    """Largest |log-prob| difference between onnxruntime and PyTorch, one image at a time."""
    import onnxruntime as ort

    sess = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    worst = 0.0
    model.eval()
    with torch.no_grad():
        for a in arrays:
            batch, _ = to_batch([a], mean=cfg.mean, std=cfg.std)
            ref = model(torch.from_numpy(batch)).numpy()
            got = sess.run(None, {"image": batch})[0]
            # Compare where probabilities matter: -inf-ish tails are noise.
            worst = max(
                worst, float(np.abs(np.maximum(got, -30) - np.maximum(ref, -30)).max())
            )
    return worst


def train_neural(
    paths,
    *,
    val_paths=None,
    config: NeuralConfig | None = None,
    out_dir,
    logger: logging.Logger | None = None,
    progress: bool = True,
    resume: bool = True,
) -> dict:
    """Train the neural reader on labelled captchas and export it for onnxruntime.

    Parameters
    ----------
    paths : iterable of path
        Image files named ``<label>.<ext>``.
    val_paths : iterable of path, optional
        Validation images. By default ``config.val_fraction`` of ``paths``
        is held out with ``config.seed`` by the project's one split,
        :func:`captcha_solver.image_io.split_dataset`; giving the split lets a caller
        validate two readers on the same held-out captchas.
    config : NeuralConfig, optional
        Network, preprocessing and schedule. An empty ``charset`` is learned
        from the labels; ``window_ratio == 0`` (with ``crop``) is learned
        from the ink boxes.
    out_dir : path
        Receives ``neural_reader.onnx``, ``neural_reader.json`` and the
        checkpoint ``neural_checkpoint.pt`` (created if missing).
    logger : logging.Logger, optional
    progress : bool
        Show tqdm progress bars.
    resume : bool
        Continue from ``out_dir/neural_checkpoint.pt`` when it exists and
        was made with the same data settings.

    Returns
    -------
    dict
        ``val_exact``, ``val_cer``, ``epochs_run``, ``best_epoch``,
        ``train_seconds`` (this call), ``epoch_seconds_total`` (all calls), ``onnx_parity_max_abs``, ``ece_raw``,
        ``ece_calibrated``, ``calibration_power``, ``n_train``, ``n_val``,
        ``charset``, ``onnx_bytes``, ``onnx_path``, ``meta_path``.

    Raises
    ------
    ValueError
        If there are fewer than ``config.min_images`` images, a label is
        empty or uses characters outside a given charset, or a resumed
        checkpoint disagrees with the data.
    """
    from tqdm.auto import tqdm

    log = logger or logging.getLogger("captcha_solver.neural")
    cfg = config or NeuralConfig()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if val_paths is None:
        # The project's one split (the same as `model.py train --reader neural`).
        paths, val_paths = split_dataset(list(map(str, paths)), cfg.val_fraction, cfg.seed)
    paths = sorted(Path(p) for p in paths)
    given_val = sorted(Path(p) for p in val_paths)
    if not given_val:
        raise ValueError("val_paths is empty: give at least one validation image or None")
    paths = paths + given_val
    if len(paths) < cfg.min_images:
        raise ValueError(
            f"neural training needs at least {cfg.min_images} labelled images, got {len(paths)}; "
            f"add images or lower NeuralConfig.min_images"
        )
    labels = [label_from_path(p) for p in paths]
    charset = learn_charset(labels, paths, cfg.charset)
    lengths = [len(s) for s in labels]
    torch.set_num_threads(cfg.threads or os.cpu_count() or 1)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)

    n_val = len(given_val)
    train_idx = np.arange(len(paths) - n_val)
    val_idx = np.arange(len(paths) - n_val, len(paths))

    t_start = time.perf_counter()
    # Learn the crop window and the ink scale on a sample, then decode and
    # preprocess one image at a time: full-size RGB captchas of a large set
    # would not fit in memory (8,000 seed captchas are 5 GB decoded).
    sample = [decode_image(paths[i], name=str(paths[i])) for i in train_idx[:1000]]
    window_ratio = cfg.window_ratio
    if cfg.crop and window_ratio == 0.0:
        window_ratio = _window_ratio(sample, cfg.crop_margin)
    cfg = cfg.replace(
        charset=charset,
        min_length=min(lengths),
        max_length=max(lengths),
        window_ratio=window_ratio,
    )
    if cfg.contrast == "fixed" and cfg.ink_scale == 0.0:
        # Learned like window_ratio: the style's typical background-to-ink span.
        cfg = cfg.replace(ink_scale=_ink_scale(sample[:500], cfg))
    del sample
    arrays = [
        preprocess_config(decode_image(p, name=str(p)), cfg)
        for p in tqdm(paths, desc="decode", disable=not progress, leave=False)
    ]
    log.info(
        "neural: %d images (%d train, %d val), charset %r (%d), lengths %d-%d, window_ratio %.3f, ink_scale %.1f",
        len(paths),
        len(train_idx),
        len(val_idx),
        charset,
        len(charset),
        cfg.min_length,
        cfg.max_length,
        window_ratio,
        cfg.ink_scale,
    )
    tr_arrays = [arrays[i] for i in train_idx]
    tr_labels = [labels[i] for i in train_idx]
    va_arrays = [arrays[i] for i in val_idx]
    va_labels = [labels[i] for i in val_idx]
    tr_widths = np.array([a.shape[1] for a in tr_arrays])

    model = CRNN(cfg)
    average = _WeightAverage(model, cfg.ema_decay) if cfg.ema_decay > 0 else None
    # What is validated, kept and exported: the averaged weights when averaging.
    judged = average.model if average is not None else model
    opt = torch.optim.AdamW(
        model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay
    )
    steps_per_epoch = math.ceil(len(tr_arrays) / cfg.batch_size)
    ctc = nn.CTCLoss(blank=BLANK, zero_infinity=True)
    state = {
        "epoch": 0,
        "step": 0,
        "best_exact": -1.0,
        "best_cer": math.inf,
        "best_epoch": 0,
        "best_state": None,
        "stale": 0,
        # cfg.epochs, or what a time budget affords (re-planned every epoch).
        "planned_epochs": cfg.epochs,
    }
    history: list[dict] = []
    resumed_seconds = 0.0  # epochs of earlier runs count against the time budget

    ckpt_path = out_dir / CHECKPOINT_NAME
    if resume and ckpt_path.is_file():
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        saved = NeuralConfig.from_dict(ckpt["config"])
        if (
            saved.charset != cfg.charset
            or saved.height != cfg.height
            or ckpt["n_images"] != len(paths)
        ):
            raise ValueError(
                f"checkpoint {ckpt_path} was made for other data (charset {saved.charset!r}, height "
                f"{saved.height}, {ckpt['n_images']} images); got charset {cfg.charset!r}, height {cfg.height}, "
                f"{len(paths)} images. Delete it or pass resume=False"
            )
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        if average is not None:
            # A checkpoint of a run without averaging starts the average afresh.
            average.model.load_state_dict(ckpt.get("average") or ckpt["model"])
        # A resumed run may ask for more epochs: plan afresh from this call's config.
        state = {**ckpt["state"], "planned_epochs": cfg.epochs}
        history = ckpt["history"]
        rng.bit_generator.state = ckpt["rng"]
        torch.set_rng_state(ckpt["torch_rng"])
        resumed_seconds = sum(h["seconds"] for h in history)
        log.info("neural: resumed from %s at epoch %d", ckpt_path, state["epoch"])

    while state["epoch"] < state["planned_epochs"] and state["stale"] < cfg.patience:
        epoch = state["epoch"] + 1
        total_steps = state["planned_epochs"] * steps_per_epoch
        model.train()
        t_epoch = time.perf_counter()
        total, seen = 0.0, 0
        batches = _batches(tr_widths, cfg.batch_size, rng)
        bar = tqdm(
            batches,
            desc=f"epoch {epoch}/{cfg.epochs}",
            disable=not progress,
            leave=False,
        )
        for idx in bar:
            xs = [tr_arrays[i] for i in idx]
            if cfg.augment:
                xs = [_augment(x, rng, cfg) for x in xs]
            batch, widths = to_batch(xs, mean=cfg.mean, std=cfg.std)
            targets, target_lengths = _encode([tr_labels[i] for i in idx], cfg.charset)
            lp = model(torch.from_numpy(batch))  # (N, T, C)
            input_lengths = torch.tensor(
                [output_length(int(w), cfg.frame_stride) for w in widths],
                dtype=torch.long,
            )
            loss = ctc(lp.permute(1, 0, 2), targets, input_lengths, target_lengths)
            for group in opt.param_groups:
                group["lr"] = _lr_at(state["step"], total_steps, cfg.lr)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            if average is not None:
                average.update(model, state["step"])
            state["step"] += 1
            total += loss.item() * len(idx)
            seen += len(idx)
            bar.set_postfix(loss=f"{total / seen:.3f}")
        ev = _evaluate(judged, va_arrays, va_labels, cfg)
        epoch_seconds = time.perf_counter() - t_epoch
        if cfg.max_minutes > 0:
            # Re-planned every epoch from the median epoch so far: another job
            # slowing the cores for one epoch should not cut the run short.
            typical = float(np.median([h["seconds"] for h in history] + [epoch_seconds]))
            plan = planned_epochs(
                cfg.epochs, cfg.max_minutes, time.perf_counter() - t_start + resumed_seconds, typical, epoch
            )
            if plan != state["planned_epochs"]:
                log.info("neural: %d epochs fit the %.1f-minute budget", plan, cfg.max_minutes)
            state["planned_epochs"] = plan
        better = ev["exact"] > state["best_exact"] or (
            ev["exact"] == state["best_exact"] and ev["cer"] < state["best_cer"]
        )
        if better:
            state.update(
                best_exact=ev["exact"], best_cer=ev["cer"], best_epoch=epoch, stale=0
            )
            state["best_state"] = {
                k: v.detach().clone() for k, v in judged.state_dict().items()
            }
        else:
            state["stale"] += 1
        state["epoch"] = epoch
        history.append(
            {
                "epoch": epoch,
                "loss": total / max(seen, 1),
                "val_exact": ev["exact"],
                "val_cer": ev["cer"],
                "seconds": epoch_seconds,
            }
        )
        log.info(
            "neural: epoch %d loss %.4f val exact %.4f cer %.4f (%.0f s)%s",
            epoch,
            total / max(seen, 1),
            ev["exact"],
            ev["cer"],
            history[-1]["seconds"],
            " *" if better else "",
        )
        buf = io.BytesIO()
        torch.save(
            {
                "config": cfg.to_dict(),
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "average": average.model.state_dict() if average is not None else None,
                "state": state,
                "history": history,
                "rng": rng.bit_generator.state,
                "torch_rng": torch.get_rng_state(),
                "n_images": len(paths),
            },
            buf,
        )
        atomic_write_bytes(
            ckpt_path, buf.getvalue()
        )  # a kill mid-write leaves the previous epoch

    stopped = (
        "patience" if state["stale"] >= cfg.patience
        else "budget" if state["planned_epochs"] < cfg.epochs
        else "epochs"
    )
    if state["best_state"] is not None:
        model.load_state_dict(state["best_state"])
    ev = _evaluate(model, va_arrays, va_labels, cfg)
    power = fit_calibration(ev["raw_conf"], ev["correct"])
    calibrated = np.asarray(ev["raw_conf"]) ** power
    cfg = cfg.replace(calibration_power=power)

    onnx_bytes = _export_onnx(
        model, cfg, to_batch([va_arrays[0]], mean=cfg.mean, std=cfg.std)[0]
    )
    parity = _parity(onnx_bytes, model, va_arrays[:32], cfg)
    train_seconds = time.perf_counter() - t_start
    metrics = {
        "val_exact": ev["exact"],
        "val_cer": ev["cer"],
        "epochs_run": state["epoch"],
        "best_epoch": state["best_epoch"],
        "stopped": stopped,
        "train_seconds": round(train_seconds, 1),
        # Over every run of a resumed training, epochs only (no decoding).
        "epoch_seconds_total": round(sum(h["seconds"] for h in history), 1),
        "onnx_parity_max_abs": parity,
        "ece_raw": expected_calibration_error(ev["raw_conf"], ev["correct"]),
        "ece_calibrated": expected_calibration_error(calibrated, ev["correct"]),
        "calibration_power": power,
        "n_train": len(tr_arrays),
        "n_val": len(va_arrays),
        "charset": cfg.charset,
        "onnx_bytes": len(onnx_bytes),
        "history": history,
    }
    onnx_path = atomic_write_bytes(out_dir / ONNX_NAME, onnx_bytes)
    meta = {
        "format": META_FORMAT,
        "config": cfg.to_dict(),
        "onnx_sha256": hashlib.sha256(onnx_bytes).hexdigest(),
        "input": {
            "name": "image",
            "layout": "NCHW",
            "height": cfg.height,
            "dtype": "float32",
        },
        "output": {"name": "log_probs", "layout": "N,T,C", "blank_index": BLANK},
        "metrics": {k: v for k, v in metrics.items() if k != "history"},
        "versions": {"torch": torch.__version__, "python": platform.python_version()},
        "val_files": sorted(paths[i].name for i in val_idx),
    }
    meta_path = atomic_write_text(out_dir / META_NAME, json.dumps(meta, indent=2))
    log.info(
        "neural: best epoch %d, val exact %.4f, cer %.4f, parity %.2e, ECE %.3f -> %.3f, %.0f s",
        state["best_epoch"],
        ev["exact"],
        ev["cer"],
        parity,
        metrics["ece_raw"],
        metrics["ece_calibrated"],
        train_seconds,
    )
    metrics["onnx_path"] = str(onnx_path)
    metrics["meta_path"] = str(meta_path)
    return metrics
