"""Settings for a registry in a temp folder (shared by the registry, serving and UI tests of the registry)."""

from __future__ import annotations

from pathlib import Path


def registry_overrides(root: Path) -> dict:
    """Settings that keep the registry, logs and results under ``root`` (nothing in the repository)."""
    return {
        "registry.uri": f"sqlite:///{root}/reg/mlflow.db",
        "registry.artifacts_dir": str(root / "reg" / "artifacts"),
        "registry.cache_dir": str(root / "reg" / "cache"),
        "registry.poll_seconds": 0.2,
        "paths.log_file": str(root / "log_file.log"),
        "paths.results_csv": str(root / "results.csv"),
        "paths.model_dir": str(root / "model"),
        "classifier.candidates": ["logreg"],
        "training.reader": "classical",
        "tracking.wandb_mode": "disabled",
        "logging.console": False,
    }


def config_file(root: Path, overrides: dict) -> Path:
    """The overrides written as a config.yaml (for the CLI's --config)."""
    from captcha_solver.settings import Config, apply_overrides, save_config

    path = root / "config.yaml"
    save_config(apply_overrides(Config(), overrides), path)
    return path
