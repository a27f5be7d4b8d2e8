"""Training a model folder: the classical reader, the neural one or both, then the manifest.

:func:`train_model` is what ``My_CaptchaSolver_Model.train`` and
``python model.py train`` run: it lists the labelled files, trains the
readers asked for on the same split, picks the routing threshold when both
are trained, and publishes the ONNX files with their ``manifest.json``
atomically.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Any

from captcha_solver.artifacts import dataset_hash, package_versions, prepare_model_dir, save_model
from captcha_solver.image_io import label_from_path, label_problem, list_dataset, split_dataset
from captcha_solver.readers import GLYPH_MODEL, NEURAL_META, NEURAL_MODEL, readers_from, routing_evidence
from captcha_solver.routing import pick_min_confidence
from captcha_solver.settings import Config

__all__ = ["labelled_files", "track", "train_model", "train_neural_reader"]


def labelled_files(dataset_dir: str | Path, cfg: Config) -> tuple[list[str], list[tuple[str, str]]]:
    """The labelled image files of a folder, and the skipped ones with the reason.

    Raises
    ------
    FileNotFoundError, NotADirectoryError, EmptyDatasetError
        If the folder is missing or has no images.
    ValueError
        If fewer than ``training.min_images`` labelled images remain.
    """
    images, rejected = list_dataset(dataset_dir, cfg.input)
    skipped: list[tuple[str, str]] = [(str(p), reason) for p, reason in rejected]
    labelled = []
    for path in images:
        problem = label_problem(label_from_path(path), cfg.segmentation.max_glyphs)
        if problem:
            skipped.append((str(path), problem))
        else:
            labelled.append(str(path))
    if len(labelled) < cfg.training.min_images:
        raise ValueError(
            f"{dataset_dir}: {len(labelled)} labelled images, training needs at least "
            f"{cfg.training.min_images} (training.min_images); {len(skipped)} files were skipped"
        )
    return labelled, skipped


def train_neural_reader(paths, val_paths, cfg: Config, *, work_dir: Path, logger, progress: bool):
    """Train the neural reader (needs torch: the ``train`` extra) in its checkpoint folder.

    The folder, ``<work_dir>/neural-runs/<key>``, is named after the data and
    the network's shape, so a killed run resumes. Returns the folder, the
    scalar metrics and the per-epoch history.
    """
    try:
        from captcha_solver.neural import train_neural
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ValueError(f"the neural reader needs torch ({exc}); install the 'train' extra") from exc
    from captcha_solver.neural import config_from_settings

    config = config_from_settings(cfg)
    # A folder named after the data and the network's shape, not a temporary
    # one: a run that is killed resumes from its last epoch when started again.
    key = hashlib.sha256(
        json.dumps(
            [
                sorted(map(str, paths)),
                sorted(map(str, val_paths)),
                config.height,
                config.frame_stride,
                config.width_dilation,
                config.stem,
                list(config.channels),
                config.rnn_hidden,
                config.seed,
            ]
        ).encode()
    ).hexdigest()[:16]
    out = work_dir / "neural-runs" / key
    logger.info("neural training checkpoints in %s (a new run with the same data resumes from it)", out)
    metrics = train_neural(
        paths, val_paths=val_paths, config=config, out_dir=out, logger=logger, progress=progress
    )
    scalars = {k: v for k, v in metrics.items() if isinstance(v, (int, float, str, bool))}
    return out, scalars, metrics.get("history", [])


def _classical_part(labelled, cfg: Config, *, logger, progress: bool) -> tuple[dict, dict, list, Any]:
    """Train the classical reader: manifest entries, artifact files, skipped files, cleanup."""
    from captcha_solver.training import train_reader

    outcome = train_reader(labelled, cfg, logger=logger, progress=progress)
    entries = dict(
        charset=outcome.charset,
        class_columns=outcome.class_columns,
        segmentation=dataclasses.asdict(outcome.seg_params),
        features=dataclasses.asdict(outcome.feat_params),
        decoding=dataclasses.asdict(outcome.decode_params),
        classifier={"chosen": outcome.chosen, "comparison": outcome.comparison},
        metrics=outcome.metrics,
        onnx_parity_max_abs_diff=outcome.parity,
    )
    return entries, {GLYPH_MODEL: outcome.onnx_path}, outcome.skipped, outcome.cleanup


def _pick_routing(manifest: dict, files: dict, val_paths, cfg: Config, *, logger, progress: bool) -> None:
    """Pick the routing threshold on the validation captchas both readers held out (in place)."""
    reader, neural = readers_from(manifest, Path("."), threads=cfg.classifier.threads, files=files)
    evidence = routing_evidence(reader, neural, val_paths, config=cfg, show=progress)
    routing = manifest["routing"] = pick_min_confidence(**evidence)
    manifest["metrics"]["val_exact_routed"] = routing["val_exact"]
    logger.info(
        "routing: min_confidence %.2f picked on %d validation captchas (routed %.4f, classical %.4f, "
        "neural %.4f; the neural reader reads %.1f%%)",
        routing["min_confidence"],
        routing["n"],
        routing["val_exact"],
        routing["val_exact_classical"],
        routing["val_exact_neural"],
        100 * routing["neural_share"],
    )


def train_model(
    dataset_dir: str | Path,
    cfg: Config,
    target: Path,
    *,
    logger,
    work_dir: Path,
    reader: str | None = None,
    progress: bool = True,
) -> tuple[dict, list[tuple[str, str]]]:
    """Train the readers ``reader`` names (default ``training.reader``) and publish them into ``target``.

    Parameters
    ----------
    dataset_dir : path
        Folder of captchas named ``<label>.<ext>``.
    cfg : Config
    target : Path
        The model folder to publish (atomically: the old model stays until the
        new one is complete, and is then kept as ``NAME.prev``).
    logger : logging.Logger
    work_dir : Path
        Where neural checkpoints are kept (``data/``).
    reader : {"classical", "neural", "auto"}, optional
    progress : bool

    Returns
    -------
    manifest : dict
    skipped : list of (str, str)
        Files not trained on, with the reason.

    Raises
    ------
    artifacts.ModelTargetError
        Before any work, if ``target`` (or ``NAME.prev``) holds anything but
        a model; nothing is then created or deleted.
    """
    from captcha_solver.training import remove_stale_training_dirs

    started = time.perf_counter()
    # Before any work: never train for a folder that holds something else than a model.
    prepare_model_dir(target, logger=logger)
    remove_stale_training_dirs(logger)
    labelled, skipped = labelled_files(dataset_dir, cfg)
    which = reader or cfg.training.reader
    logger.info(
        "train: %s reader on %d labelled images from %s into %s", which, len(labelled), dataset_dir, target
    )
    manifest: dict[str, Any] = {"reader": which}
    files: dict[str, Path] = {}
    cleanups = []
    # One split for every reader: in `auto` both readers are validated, and the
    # routing threshold picked, on captchas neither trained on.
    train_paths, val_paths = split_dataset(labelled, cfg.training.validation_fraction, cfg.training.seed)
    if which in ("classical", "auto"):
        entries, artifacts, more_skipped, cleanup = _classical_part(
            labelled, cfg, logger=logger, progress=progress
        )
        manifest.update(entries)
        files.update(artifacts)
        skipped.extend(more_skipped)
        cleanups.append(cleanup)
    if which in ("neural", "auto"):
        neural_dir, metrics, history = train_neural_reader(
            train_paths, val_paths, cfg, work_dir=work_dir, logger=logger, progress=progress
        )
        cleanups.append(lambda: shutil.rmtree(neural_dir, ignore_errors=True))
        files.update({name: neural_dir / name for name in (NEURAL_MODEL, NEURAL_META)})
        # Per-epoch loss and validation figures: learning curves for the
        # tracker and for anyone asking why training stopped where it did.
        manifest["neural"] = {"metrics": metrics, "history": history}
        manifest.setdefault("metrics", {"val_exact": metrics.get("val_exact", float("nan"))})
    if which == "auto":
        _pick_routing(manifest, files, val_paths, cfg, logger=logger, progress=progress)
    for path, reason in skipped:
        logger.warning("skipped %s: %s", path, reason)
    manifest.update(
        training_data={
            "folder": str(dataset_dir),
            "images": len(labelled),
            "skipped": len(skipped),
            "sha256": dataset_hash(labelled),
        },
        config=cfg.to_dict(),
        versions=package_versions(),
        training_seconds=round(time.perf_counter() - started, 1),
    )
    try:
        save_model(target, files, manifest, logger=logger)
    finally:
        for cleanup in cleanups:
            cleanup()
    logger.info(
        "train: model saved to %s (%s reader), validation exact %.4f, %d files skipped, %.1f s",
        target,
        which,
        manifest["metrics"].get("val_exact", float("nan")),
        len(skipped),
        manifest["training_seconds"],
    )
    track(cfg, manifest, target, logger)
    return manifest, skipped


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
