"""Experiment tracking of a training run (wandb, offline by default); never fails training."""

from __future__ import annotations

from pathlib import Path

from captcha_solver.settings import Config

__all__ = ["track"]


def track(cfg: Config, manifest: dict, model_dir: Path, logger) -> None:
    """Log the run to wandb (offline by default); tracking never fails training."""
    try:
        from captcha_solver.tracking import start_run
    except ImportError:
        return
    try:
        with start_run(cfg.tracking.project, manifest["config"], mode=cfg.tracking.wandb_mode) as run:
            flat = {f"val/{k}": v for k, v in manifest["metrics"].items() if isinstance(v, (int, float))}
            for name, scores in manifest.get("classifier", {}).get("comparison", {}).items():
                flat.update({f"compare/{name}/{k}": v for k, v in scores.items()})
            neural = manifest.get("neural", {}).get("metrics", {})
            flat.update({f"neural/{k}": v for k, v in neural.items() if isinstance(v, (int, float))})
            for epoch in manifest.get("neural", {}).get("history", []):
                run.log({f"neural_epoch/{k}": v for k, v in epoch.items()})
            run.log(flat)
            chosen = manifest.get("classifier", {}).get("chosen", manifest.get("reader"))
            run.summary({"chosen": chosen, "training_seconds": manifest["training_seconds"]})
            run.log_artifact(model_dir, name="captcha-model", type="model")
    except Exception as exc:  # noqa: BLE001 - tracking is best-effort by design
        logger.warning("experiment tracking failed (training result is unaffected): %s", exc)
