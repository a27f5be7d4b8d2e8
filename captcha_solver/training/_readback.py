"""Trainer and runtime cannot disagree: a model is read back from its folder before it goes live.

The most common complaint against captcha trainers is "accuracy 1.0 in
training, nothing at runtime": a preprocessing setting not saved, a charset
in another order, a threshold the runtime does not apply. Here the staged
model folder is loaded exactly as ``predict`` loads it and reads the
validation captchas through the same function; the figure in the manifest
is that one. The confidences and text lengths of those readings are kept as
the model's monitoring baseline (:class:`captcha_solver.monitoring.Baseline`),
which the API's drift score compares live readings with.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from captcha_solver.image_io import read_labelled
from captcha_solver.inference import Model
from captcha_solver.metrics import expected_calibration_error
from captcha_solver.monitoring import Baseline, baseline_from
from captcha_solver.settings import Config

__all__ = ["TrainingMismatchError", "runtime_check", "verifier"]


class TrainingMismatchError(RuntimeError):
    """The published model reads its validation captchas worse than training said it would."""


def runtime_check(model_dir: Path, val_paths, cfg: Config, *, keep_baseline: bool = False) -> dict:
    """Load a model folder as ``predict`` does and read labelled captchas with it.

    Returns
    -------
    dict
        ``val_exact`` (exact accuracy), ``val_ece`` (of the confidences) and ``n``; with
        ``keep_baseline`` also ``baseline``, the :class:`Baseline` of the readings' confidences
        and text lengths (None when nothing was read).
    """
    model = Model.load(model_dir, cfg)
    correct, confidence, lengths = [], [], []
    for _, label, rgb in read_labelled(val_paths, cfg.input):
        result = model.read(rgb)
        correct.append(result.text == label)
        confidence.append(float(result.confidence))
        lengths.append(len(result.text))
    n = len(correct)
    found = {
        "val_exact": round(float(np.mean(correct)), 6) if n else float("nan"),
        "val_ece": round(expected_calibration_error(confidence, correct), 6),
        "n": n,
    }
    if keep_baseline:
        found["baseline"] = baseline_from(confidence, lengths) if n else None
    return found


def verifier(val_paths, cfg: Config, trained: float, logger):
    """The check :func:`captcha_solver.artifacts.save_model` runs on the staged model before the swap.

    Raises :class:`TrainingMismatchError` (so the model is not published)
    when the runtime reads more than one captcha fewer than training
    measured (``trained``); returns the manifest's ``verified`` entry and
    its ``monitoring`` section (the baseline of the same readings).
    """

    def verify(staged: Path) -> dict:
        found = runtime_check(staged, val_paths, cfg, keep_baseline=True)
        baseline: Baseline | None = found.pop("baseline", None)
        n = max(found["n"], 1)
        logger.info(
            "verify: the model as published reads %.4f of %d validation captchas (training said %.4f)",
            found["val_exact"],
            found["n"],
            trained,
        )
        # One captcha of slack: onnxruntime and torch differ in the last float
        # digits, which can flip a reading that sits on a tie.
        if not found["val_exact"] >= trained - 1.0 / n - 1e-9:
            raise TrainingMismatchError(
                f"the model as published reads {found['val_exact']:.4f} of {found['n']} validation captchas, "
                f"training measured {trained:.4f}; the model was not published (the previous one stays)"
            )
        entries = {"verified": {**found, "in_training": trained}}
        if baseline is not None:
            entries["monitoring"] = {"baseline": baseline.to_dict()}
        return entries

    return verify
