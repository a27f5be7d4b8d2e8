"""Experiment tracking of a training run (wandb, offline by default); never fails training."""

from __future__ import annotations

from pathlib import Path

from captcha_solver.artifacts import Classifier, Manifest, NeuralRecord
from captcha_solver.settings import Config

__all__ = ["track"]


def track(cfg: Config, manifest: Manifest, model_dir: Path, logger) -> None:
    """Log the run to wandb (offline by default); tracking never fails training."""
    try:
        from captcha_solver.tracking import start_run
    except ImportError:
        return
    classifier = manifest.classifier or Classifier()
    neural = manifest.neural or NeuralRecord()
    try:
        with start_run(cfg.tracking.project, manifest.config or {}, mode=cfg.tracking.wandb_mode) as run:
            flat = {f"val/{k}": v for k, v in (manifest.metrics or {}).items() if isinstance(v, (int, float))}
            for name, scores in (classifier.comparison or {}).items():
                flat.update({f"compare/{name}/{k}": v for k, v in scores.items()})
            figures = neural.metrics or {}
            flat.update({f"neural/{k}": v for k, v in figures.items() if isinstance(v, (int, float))})
            for epoch in neural.history or []:
                run.log({f"neural_epoch/{k}": v for k, v in epoch.items()})
            run.log(flat)
            run.summary({"chosen": manifest.chosen, "training_seconds": manifest.training_seconds})
            run.log_artifact(model_dir, name="captcha-model", type="model")
    except Exception as exc:  # noqa: BLE001 - tracking is best-effort by design
        logger.warning("experiment tracking failed (training result is unaffected): %s", exc)
