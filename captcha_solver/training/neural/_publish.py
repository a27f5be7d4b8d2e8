"""Publishing a neural training run: calibrate the kept weights, export them to ONNX, write the reader's files."""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import time
from pathlib import Path

import numpy as np
import torch

from captcha_solver.common import atomic_write_bytes, atomic_write_text
from captcha_solver.metrics import expected_calibration_error
from captcha_solver.neural import BLANK, META_FORMAT, META_NAME, ONNX_NAME, to_batch
from captcha_solver.training._onnx import check_parity
from captcha_solver.training.neural._checks import evaluate_reader as _evaluate
from captcha_solver.training.neural._checks import export_onnx as _export_onnx
from captcha_solver.training.neural._checks import fit_calibration
from captcha_solver.training.neural._checks import onnx_parity as _parity
from captcha_solver.training.neural._data import TrainingSet

__all__ = ["publish_run"]


def publish_run(run, data: TrainingSet, out_dir: Path, t_start: float, log: logging.Logger) -> dict:
    """Calibrate the kept weights, export them to ONNX (parity-checked) and write the reader's files."""
    state, history, model, cfg = run.state, run.history, run.model, run.cfg
    stopped = (
        "patience"
        if state["stale"] >= cfg.patience
        else "budget"
        if state["planned_epochs"] < cfg.epochs
        else "epochs"
    )
    if state["best_state"] is not None:
        model.load_state_dict(state["best_state"])
    model.to("cpu")  # export and its parity check run on the CPU, as the reader does
    ev = _evaluate(model, data.val_arrays, data.val_labels, cfg)
    power = fit_calibration(ev["raw_conf"], ev["correct"])
    calibrated = np.asarray(ev["raw_conf"]) ** power
    cfg = cfg.replace(calibration_power=power)
    onnx_bytes = _export_onnx(model, cfg, to_batch([data.val_arrays[0]], mean=cfg.mean, std=cfg.std)[0])
    # Log-probabilities clipped at -30 (see onnx_parity): a real export differs by ~1e-5.
    parity = check_parity(_parity(onnx_bytes, model, data.val_arrays[:32], cfg), 1e-2, "the neural reader")
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
        "n_train": len(data.train_arrays),
        "n_val": len(data.val_arrays),
        "charset": cfg.charset,
        "onnx_bytes": len(onnx_bytes),
        "history": history,
    }
    onnx_path = atomic_write_bytes(out_dir / ONNX_NAME, onnx_bytes)
    meta = {
        "format": META_FORMAT,
        "config": cfg.arch().to_dict(),
        "onnx_sha256": hashlib.sha256(onnx_bytes).hexdigest(),
        "input": {"name": "image", "layout": "NCHW", "height": cfg.height, "dtype": "float32"},
        "output": {"name": "log_probs", "layout": "N,T,C", "blank_index": BLANK},
        "metrics": {k: v for k, v in metrics.items() if k != "history"},
        "versions": {"torch": torch.__version__, "python": platform.python_version()},
        "val_files": data.val_files,
    }
    meta_path = atomic_write_text(out_dir / META_NAME, json.dumps(meta, indent=2))
    log.info(
        "neural: kept epoch %d (the latest within validation noise of the best), val exact %.4f, cer %.4f, "
        "parity %.2e, ECE %.3f -> %.3f, %.0f s",
        state["best_epoch"],
        ev["exact"],
        ev["cer"],
        parity,
        metrics["ece_raw"],
        metrics["ece_calibrated"],
        train_seconds,
    )
    metrics["skipped"] = list(data.skipped)
    metrics["onnx_path"] = str(onnx_path)
    metrics["meta_path"] = str(meta_path)
    return metrics
