"""Registering a freshly trained model folder: its tags, description and metrics from the manifest."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path

from captcha_solver.artifacts import MANIFEST, Manifest, sha256_file
from captcha_solver.registry._store import Registry, VersionInfo
from captcha_solver.settings import Config

__all__ = ["register_trained", "version_tags"]

# MLflow keeps tag values up to a few thousand characters; longer JSON is cut (the full plan is in
# the registered manifest.json anyway).
_MAX_TAG = 4000


def _tracking_run(config: Config, since: float) -> str:
    """The wandb run folder this training wrote, if any (the newest one started after ``since``)."""
    if config.tracking.wandb_mode == "disabled":
        return ""
    root = Path("data") / "wandb" / "wandb"  # tracking.start_run's default folder
    runs = [p for p in root.glob("*run-*") if p.is_dir() and p.stat().st_mtime >= since]
    return str(max(runs, key=lambda p: p.stat().st_mtime)) if runs else ""


def version_tags(manifest: Manifest, folder: Path, *, tracking_run: str = "") -> dict[str, str]:
    """The tags of a version: manifest metrics, plan, training-data hash, tracking run, manifest hash."""
    tags = {
        f"metric.{k}": f"{v:.6g}" if isinstance(v, float) else str(v)
        for k, v in (manifest.metrics or {}).items()
    }
    plan = manifest.plan or {}
    data = manifest.training_data or {}
    tags.update(
        {
            "readers": "+".join(manifest.readers),
            "plan": json.dumps(
                {"readers": plan.get("readers"), "chosen": plan.get("chosen")}, sort_keys=True
            )[:_MAX_TAG],
            "training_data_sha256": str(data.get("sha256", "")),
            "training_images": str(data.get("images", "")),
            "training_folder": str(data.get("folder", ""))[:_MAX_TAG],
            "manifest_sha256": sha256_file(folder / MANIFEST),
            "created": str(manifest.created or ""),
            "tracking_run": tracking_run,
        }
    )
    return {k: v for k, v in tags.items() if v}


def register_trained(
    config: Config, folder: str | Path, manifest: Manifest, *, logger, started: float | None = None
) -> VersionInfo | None:
    """Register a published model folder as a new version; a failure is logged, never raised.

    The trained model is already published in ``folder`` and serves as it is: a registry that is
    down or refuses must not undo minutes of training, so the failure is a logged error and
    ``None`` (register the folder later with ``models register``).
    """
    folder = Path(folder)
    registry = Registry(config.registry, logger=logger)
    metrics = manifest.metrics or {}
    try:
        info = registry.register(
            folder,
            tags=version_tags(manifest, folder, tracking_run=_tracking_run(config, started or time.time())),
            description=_description(manifest),
            metrics={
                k: float(v)
                for k, v in metrics.items()
                if isinstance(v, (int, float)) and not isinstance(v, bool)
            },
        )
    except Exception as exc:  # noqa: BLE001 - registration never loses or unpublishes the model
        logger.error(
            "train: the model in %s is published but was not registered in %s: %s", folder, registry.uri, exc
        )
        return None
    logger.info("train: registered %s (aliases: %s)", info.label, ", ".join(info.aliases) or "none")
    return info


def _description(manifest: Manifest) -> str:
    metrics: Mapping = manifest.metrics or {}
    data = manifest.training_data or {}
    exact = metrics.get("val_exact")
    figure = f", validation exact {exact:.4f}" if isinstance(exact, (int, float)) else ""
    return f"{'+'.join(manifest.readers)} model trained on {data.get('images', '?')} captchas{figure}"
