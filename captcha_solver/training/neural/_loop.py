"""Training: labelled images in, ``neural_reader.onnx`` + ``neural_reader.json`` out.

nanoGPT-style: one function, one loop, the config stored in every
checkpoint. The data are decoded and preprocessed once into memory;
augmentation works on the small preprocessed arrays, so an epoch costs
little more than the network itself.
"""

from __future__ import annotations

import io
import logging
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from captcha_solver.common import atomic_write_bytes
from captcha_solver.metrics import expected_calibration_error
from captcha_solver.neural import BLANK, output_length, to_batch
from captcha_solver.training._noise import error_count, within_noise
from captcha_solver.training.neural._checks import (
    evaluate_reader as _evaluate,
)
from captcha_solver.training.neural._checks import fit_calibration, predict_log_probs
from captcha_solver.training.neural._config import CHECKPOINT_NAME, NeuralTrainingConfig
from captcha_solver.training.neural._data import TrainingSet, augment, batches, encode, learn_charset, prepare
from captcha_solver.training.neural._device import resolve_device, resolve_precision
from captcha_solver.training.neural._merge import fold, merged_label
from captcha_solver.training.neural._network import CRNN
from captcha_solver.training.neural._publish import publish_run
from captcha_solver.training.neural._schedule import _lr_at, _WeightAverage, planned_epochs
from captcha_solver.training.neural._splice import SplicePool
from captcha_solver.training.neural._warm import inherit_scales, warm_start

__all__ = [
    "CHECKPOINT_NAME",
    "expected_calibration_error",
    "fit_calibration",
    "learn_charset",
    "train_neural",
]


def train_neural(
    paths,
    *,
    val_paths,
    config: NeuralTrainingConfig | None = None,
    input_settings=None,
    out_dir,
    logger: logging.Logger | None = None,
    progress: bool = True,
    resume: bool = True,
    on_epoch=None,
    init_from=None,
    merged=None,
) -> dict:
    """Train the neural reader on labelled captchas and export it for onnxruntime.

    Parameters
    ----------
    paths : iterable of path
        Image files named ``<label>.<ext>``.
    val_paths : iterable of path
        Validation images: the run's one split (both readers are validated,
        and their fusion fitted, on the same held-out captchas).
    config : NeuralTrainingConfig, optional
        Network, preprocessing and schedule. An empty ``charset`` is learned
        from the labels; ``window_ratio == 0`` (with ``crop``) is learned
        from the ink boxes.
    input_settings : InputConfig, optional
        The ``input`` settings (decoding limits); files that cannot be read
        are skipped and returned in ``skipped``.
    out_dir : path
        Receives ``neural_reader.onnx``, ``neural_reader.json`` and the
        checkpoint ``neural_checkpoint.pt`` (created if missing).
    logger : logging.Logger, optional
    progress : bool
        Show tqdm progress bars.
    resume : bool
        Continue from ``out_dir/neural_checkpoint.pt`` when it exists and
        was made with the same data settings.
    on_epoch : callable, optional
        Called after every epoch with ``epoch``, ``planned`` (epochs the
        budget affords), ``val_exact`` and ``best_exact`` (keywords): the
        run's one progress display.
    init_from : path, optional
        Checkpoint of an earlier run to start from (its best weights, charset
        and preprocessing scales) instead of random weights, unless resuming.
    merged : (collection of path, tuple of str), optional
        Training captchas whose labels name the characters of each group
        only as the group (self-training's pseudo-labels), and the groups
        (e.g. ``("0O",)``): their loss asks for one of the group there, not
        which one (:mod:`._merge`).

    Returns
    -------
    dict
        ``val_exact``, ``val_cer``, ``epochs_run``, ``best_epoch`` (the epoch kept: the latest within
        validation noise of the best, see ``_Run.record``),
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
    log = logger or logging.getLogger("captcha_solver.neural")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()  # the time budget counts decoding too
    config = config or NeuralTrainingConfig()
    ckpt_path = out_dir / CHECKPOINT_NAME
    warm = init_from is not None and not (resume and ckpt_path.is_file())
    data = prepare(
        paths,
        val_paths,
        inherit_scales(config, Path(init_from)) if warm else config,
        progress=progress,
        log=log,
        input_settings=input_settings,
    )
    cfg = data.config
    groups = _merge_labels(data, merged, log)
    torch.set_num_threads(cfg.threads or os.cpu_count() or 1)
    torch.manual_seed(cfg.seed)
    run = _Run(cfg, np.random.default_rng(cfg.seed), groups)
    if resume and ckpt_path.is_file():
        run.resume(ckpt_path, len(data.paths), log)
    elif warm:
        warm_start(
            [run.model] + ([run.average.model] if run.average is not None else []), Path(init_from), log
        )
    tr_widths = np.array([a.shape[1] for a in data.train_arrays])
    if cfg.aug_splice > 0:
        run.splice = SplicePool(data.train_labels, cfg.charset, cfg.frame_stride, cfg.max_width, groups)
        run.splice_from = 0 if warm else None
    while run.state["epoch"] < run.state["planned_epochs"] and run.state["stale"] < cfg.patience:
        run.align(data, tr_widths, log)
        loss, seconds = run.epoch(data, tr_widths, progress)
        ev = _evaluate(run.judged, data.val_arrays, data.val_labels, cfg)
        run.plan(seconds, time.perf_counter() - t_start, log)
        better = run.record(ev, loss, seconds)
        log.info(
            "neural: epoch %d loss %.4f val exact %.4f cer %.4f (%.0f s)%s",
            run.state["epoch"],
            loss,
            ev["exact"],
            ev["cer"],
            seconds,
            " *" if better else "",
        )
        # A kill mid-write leaves the previous epoch's checkpoint.
        atomic_write_bytes(ckpt_path, run.checkpoint(len(data.paths)))
        if on_epoch is not None:
            on_epoch(
                epoch=run.state["epoch"],
                planned=run.state["planned_epochs"],
                val_exact=ev["exact"],
                best_exact=run.state["best_exact"],
            )
    return publish_run(run, data, out_dir, t_start, log)


def _merge_labels(data: TrainingSet, merged, log: logging.Logger) -> tuple[str, ...]:
    """Write the merged groups' placeholders into the labels of the captchas ``merged`` names; the groups in use."""
    if not merged or not merged[1]:
        return ()
    flagged, groups = {Path(p) for p in merged[0]}, tuple(merged[1])
    train_paths = data.paths[: len(data.train_labels)]
    hits = marked = 0
    for i, path in enumerate(train_paths):
        if path in flagged:
            label = merged_label(data.train_labels[i], groups)
            marked += label != data.train_labels[i]
            data.train_labels[i] = label
            hits += 1
    log.info(
        "neural: %d of %d pseudo-labelled captchas have a character of %s, learned as one class per group "
        "(the labels alone tell its characters apart)",
        marked,
        hits,
        ", ".join(groups),
    )
    return groups


class _Run:
    """The state of one training run: model, optimiser, weight average, schedule, best weights, history.

    Everything a checkpoint holds, so that a killed run resumes where it stopped.
    """

    def __init__(self, cfg: NeuralTrainingConfig, rng: np.random.Generator, groups: tuple[str, ...] = ()):
        self.cfg = cfg
        self.groups = groups  # merged classes (see _merge): folded in the loss of the labels that mark them
        self.rng = rng
        # Only the network and its batches live on the device; data, export and checks stay on the CPU.
        self.device = resolve_device(cfg.device)
        self.autocast = resolve_precision(cfg.precision, self.device)  # None: plain float32
        self.model = CRNN(cfg).to(self.device)
        self.average = _WeightAverage(self.model, cfg.ema_decay) if cfg.ema_decay > 0 else None
        # What is validated, kept and exported: the averaged weights when averaging.
        self.judged = self.average.model if self.average is not None else self.model
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.ctc = nn.CTCLoss(blank=BLANK, zero_infinity=True)
        self.state = {
            "epoch": 0,
            "step": 0,
            "best_exact": -1.0,  # the best validation exact so far; the kept epoch is within noise of it
            "best_epoch": 0,
            "best_state": None,
            "stale": 0,
            # cfg.epochs, or what a time budget affords (re-planned every epoch).
            "planned_epochs": cfg.epochs,
        }
        self.history: list[dict] = []
        self.resumed_seconds = 0.0  # epochs of earlier runs count against the time budget
        # Splicing (cfg.aug_splice): the cuts come from the network's own alignments, so they
        # are made once it reads (a warm start at once) and refreshed as it improves.
        self.splice: SplicePool | None = None
        self.splice_from: int | None = None
        self.aligned_at: int | None = None

    def align(self, data: TrainingSet, tr_widths: np.ndarray, log: logging.Logger) -> None:
        """Align the training captchas for splicing when it is due (a fifth of the planned epochs, then every tenth)."""
        if self.splice is None:
            return
        epoch, planned = self.state["epoch"], self.state["planned_epochs"]
        start = self.splice_from if self.splice_from is not None else max(5, planned // 5)
        every = max(5, planned // 10)
        if epoch < start or (self.aligned_at is not None and epoch - self.aligned_at < every):
            return
        lps = predict_log_probs(self.judged, data.train_arrays, self.cfg)
        aligned = self.splice.refresh(lps, [int(w) for w in tr_widths])
        self.aligned_at = epoch
        log.info(
            "neural: epoch %d, %d of %d training captchas aligned for splicing", epoch, aligned, len(lps)
        )

    def resume(self, ckpt_path: Path, n_images: int, log: logging.Logger) -> None:
        """Continue from a checkpoint made with the same data settings.

        Raises
        ------
        ValueError
            If the checkpoint was made for another charset, height or number of images.
        """
        cfg = self.cfg
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        saved = NeuralTrainingConfig.from_dict(ckpt["config"])
        if saved.charset != cfg.charset or saved.height != cfg.height or ckpt["n_images"] != n_images:
            raise ValueError(
                f"checkpoint {ckpt_path} was made for other data (charset {saved.charset!r}, height "
                f"{saved.height}, {ckpt['n_images']} images); got charset {cfg.charset!r}, height {cfg.height}, "
                f"{n_images} images. Delete it or pass resume=False"
            )
        self.model.load_state_dict(ckpt["model"])
        self.opt.load_state_dict(ckpt["optimizer"])
        if self.average is not None:
            # A checkpoint of a run without averaging starts the average afresh.
            self.average.model.load_state_dict(ckpt.get("average") or ckpt["model"])
        # A resumed run may ask for more epochs: plan afresh from this call's config.
        self.state = {**ckpt["state"], "planned_epochs": cfg.epochs}
        self.history = ckpt["history"]
        self.rng.bit_generator.state = ckpt["rng"]
        torch.set_rng_state(ckpt["torch_rng"])
        self.resumed_seconds = sum(h["seconds"] for h in self.history)
        log.info("neural: resumed from %s at epoch %d", ckpt_path, self.state["epoch"])

    def epoch(self, data: TrainingSet, tr_widths: np.ndarray, progress: bool) -> tuple[float, float]:
        """One pass over the training captchas; returns the mean loss and the seconds it took."""
        cfg, state, model = self.cfg, self.state, self.model
        epoch = state["epoch"] + 1
        total_steps = state["planned_epochs"] * math.ceil(len(data.train_arrays) / cfg.batch_size)
        model.train()
        t_epoch = time.perf_counter()
        total, seen = 0.0, 0
        bar = tqdm(
            batches(tr_widths, cfg.batch_size, self.rng),
            desc=f"epoch {epoch}/{cfg.epochs}",
            disable=not progress,
            leave=False,
        )
        for idx in bar:
            xs = [data.train_arrays[i] for i in idx]
            ys = [data.train_labels[i] for i in idx]
            if self.splice is not None and self.splice.cuts:
                for n, i in enumerate(idx):
                    made = (
                        self.splice.draw(int(i), data.train_arrays, self.rng)
                        if self.rng.random() < cfg.aug_splice
                        else None
                    )
                    if made is not None:
                        xs[n], ys[n] = made
            if cfg.augment:
                xs = [augment(x, self.rng, cfg) for x in xs]
            batch, widths = to_batch(xs, mean=cfg.mean, std=cfg.std)
            with torch.autocast(
                self.device.type, dtype=self.autocast or torch.float32, enabled=self.autocast is not None
            ):
                scores = model.logits(torch.from_numpy(batch).to(self.device))
            # The softmax and the loss in float32: bf16's 8-bit mantissa would blur the log-probabilities CTC sums.
            lp = torch.log_softmax(scores.float(), dim=-1)  # (N, T, C)
            lp, ys = fold(lp, ys, cfg.charset, self.groups)  # a pseudo-label's merged group: one class
            targets, target_lengths = encode(ys, cfg.charset)
            input_lengths = torch.tensor(
                [output_length(int(w), cfg.frame_stride) for w in widths],
                dtype=torch.long,
                device=self.device,
            )
            targets, target_lengths = targets.to(self.device), target_lengths.to(self.device)
            loss = self.ctc(lp.permute(1, 0, 2), targets, input_lengths, target_lengths)
            for group in self.opt.param_groups:
                group["lr"] = _lr_at(state["step"], total_steps, cfg.lr)
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            self.opt.step()
            if self.average is not None:
                self.average.update(model, state["step"])
            state["step"] += 1
            total += loss.item() * len(idx)
            seen += len(idx)
            bar.set_postfix(loss=f"{total / seen:.3f}")
        return total / max(seen, 1), time.perf_counter() - t_epoch

    def plan(self, epoch_seconds: float, elapsed: float, log: logging.Logger) -> None:
        """Fit the number of epochs to the time budget (``max_minutes``), if there is one."""
        cfg, state = self.cfg, self.state
        if cfg.max_minutes <= 0:
            return
        # Re-planned every epoch from the median epoch so far: another job
        # slowing the cores for one epoch should not cut the run short.
        typical = float(np.median([h["seconds"] for h in self.history] + [epoch_seconds]))
        plan = planned_epochs(
            cfg.epochs, cfg.max_minutes, elapsed + self.resumed_seconds, typical, state["epoch"] + 1
        )
        if plan != state["planned_epochs"]:
            log.info("neural: %d epochs fit the %.1f-minute budget", plan, cfg.max_minutes)
        state["planned_epochs"] = plan

    def record(self, ev: dict, loss: float, seconds: float) -> bool:
        """Keep this epoch's weights if its validation errors are within the noise of the fewest so far; True if kept.

        The kept weights are those of the latest epoch that validation cannot tell from the best
        (:func:`~captcha_solver.training._noise.within_noise`): later weights have trained longer and are
        further down the annealed schedule. Keeping the strictly best epoch let one validation captcha decide:
        with 20 validation captchas (100 real-site labels) two first trainings kept epochs 184 and 290 of 750,
        and read 36 and 54 of their runs' 536 other captchas wrong, where runs that kept epoch 750 read 6 and 14.
        """
        state = self.state
        epoch = state["epoch"] + 1
        n_val = len(ev["correct"])
        errors = error_count(ev["exact"], n_val)
        # The fewest errors so far (best_exact's -1 before the first epoch counts 2 * n_val, never the fewest).
        fewest = min(errors, error_count(state["best_exact"], n_val))
        kept = within_noise(errors, fewest)
        state["best_exact"] = max(state["best_exact"], ev["exact"])
        if kept:
            state.update(best_epoch=epoch, stale=0)
            state["best_state"] = {k: v.detach().clone() for k, v in self.judged.state_dict().items()}
        else:
            state["stale"] += 1
        state["epoch"] = epoch
        self.history.append(
            {"epoch": epoch, "loss": loss, "val_exact": ev["exact"], "val_cer": ev["cer"], "seconds": seconds}
        )
        return kept

    def checkpoint(self, n_images: int) -> bytes:
        """The checkpoint's bytes: config, weights, optimiser, schedule, history and random states."""
        buf = io.BytesIO()
        torch.save(
            {
                "config": self.cfg.to_dict(),
                "model": self.model.state_dict(),
                "optimizer": self.opt.state_dict(),
                "average": self.average.model.state_dict() if self.average is not None else None,
                "state": self.state,
                "history": self.history,
                "rng": self.rng.bit_generator.state,
                "torch_rng": torch.get_rng_state(),
                "n_images": n_images,
            },
            buf,
        )
        return buf.getvalue()
