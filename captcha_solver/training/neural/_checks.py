"""Checking a trained network: validation readings, calibration of its confidence, ONNX export and parity."""

from __future__ import annotations

import io
import warnings

import numpy as np
import torch

from captcha_solver.metrics import edit_distance
from captcha_solver.neural import greedy_decode, output_length, to_batch
from captcha_solver.training._onnx import max_abs_difference
from captcha_solver.training.neural._config import NeuralTrainingConfig
from captcha_solver.training.neural._network import CRNN

__all__ = ["evaluate_reader", "export_onnx", "fit_calibration", "onnx_parity"]


@torch.no_grad()
def predict_log_probs(model: CRNN, arrays: list[np.ndarray], cfg: NeuralTrainingConfig) -> list[np.ndarray]:
    """Per-image (T_i, C) log-probs, padding frames cut off."""
    model.eval()
    widths = np.array([a.shape[1] for a in arrays])
    out: list[np.ndarray] = [None] * len(arrays)  # type: ignore[list-item]
    # Batches of one width only: no padding, so the BiGRU sees exactly what
    # the reader will (padding would change the backward direction).
    groups = [np.flatnonzero(widths == w) for w in np.unique(widths)]
    device = next(model.parameters()).device  # training.device while training, the CPU for export
    for idx in (g[i : i + 64] for g in groups for i in range(0, len(g), 64)):
        batch, w = to_batch([arrays[i] for i in idx], mean=cfg.mean, std=cfg.std)
        lp = model(torch.from_numpy(batch).to(device)).cpu().numpy()
        for j, i in enumerate(idx):
            out[i] = lp[j, : max(output_length(int(w[j]), cfg.frame_stride), 1)]
    return out


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


def evaluate_reader(model, arrays, labels, cfg) -> dict:
    lps = predict_log_probs(model, arrays, cfg)
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


def export_onnx(model: CRNN, cfg: NeuralTrainingConfig, example: np.ndarray) -> bytes:
    model.eval()
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and GRU notes
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


def onnx_parity(onnx_bytes: bytes, model: CRNN, arrays: list[np.ndarray], cfg: NeuralTrainingConfig) -> float:
    """Largest |log-prob| difference between onnxruntime and PyTorch, one image at a time."""
    import onnxruntime as ort

    sess = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    model.eval()

    def reference(batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(batch)).numpy()

    batches = (to_batch([a], mean=cfg.mean, std=cfg.std)[0] for a in arrays)
    # Compare where probabilities matter: -inf-ish tails are noise.
    return max_abs_difference(lambda b: sess.run(None, {"image": b})[0], reference, batches, floor=-30)
