"""Training a model folder in a time budget: plan, readers, fusion, verified publication.

:func:`train_model` is what ``My_CaptchaSolver_Model.train`` and
``python model.py train`` run: it lists the labelled files, surveys them and
plans the run (:mod:`captcha_solver.training`), trains the readers the plan
chose on one split, fits their fusion when both are trained, and publishes
the ONNX files with their ``manifest.json`` atomically, after reading the
validation captchas back from the staged folder (:mod:`captcha_solver.training`).
"""

from __future__ import annotations

import copy
import dataclasses
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from captcha_solver.artifacts import (
    GLYPH_MODEL,
    NEURAL_META,
    NEURAL_MODEL,
    Manifest,
    dataset_hash,
    load_model_folder,
    package_versions,
    prepare_model_dir,
    save_model,
)
from captcha_solver.common import RunProgress
from captcha_solver.image_io import label_from_path, label_problem, list_dataset, split_dataset
from captcha_solver.inference import Model
from captcha_solver.settings import Config, apply_overrides
from captcha_solver.training._fusion import fit_fusion_on
from captcha_solver.training._neural_reader import train_neural_reader
from captcha_solver.training._plan import TrainingPlan, plan_training
from captcha_solver.training._pseudo import unlabelled_files
from captcha_solver.training._readback import verifier
from captcha_solver.training._self_training import FIRST_SHARE, Round, self_train
from captcha_solver.training._survey import survey_dataset
from captcha_solver.training._track import track
from captcha_solver.training.classical import remove_stale_training_dirs, stage_params

__all__ = ["labelled_files", "train_model", "train_neural_reader"]


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


def _classical_part(split, cfg: Config, *, logger, progress: bool) -> tuple[dict, dict, list, Any]:
    """Train the classical reader on the run's split: manifest entries, artifact files, skipped files, cleanup."""
    from captcha_solver.training.classical import train_reader

    outcome = train_reader(*split, cfg, logger=logger, progress=progress)
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


def _fit_fusion(draft: dict, files: dict, split, cfg: Config, *, logger) -> None:
    """Fit how the two readers combine on the validation captchas both held out, bearings on the training ones."""
    model = Model.from_files(Manifest.from_entries(draft, files), files, cfg)
    fusion = draft["fusion"] = fit_fusion_on(model, split[1], spacing_paths=split[0])
    draft["metrics"].update(
        val_exact=fusion["val_exact"],
        val_exact_fused=fusion["val_exact_fused"],
        val_exact_classical_alone=fusion["val_exact_classical"],
        val_exact_neural_alone=fusion["val_exact_neural"],
        val_ece=fusion["ece"],
    )
    logger.info(
        "fusion: classical weight %.2f, temperature %.3f, fast path from confidence %.2f, fitted on %d validation "
        "captchas: exact %.4f (every captcha fused %.4f, classical alone %.4f, neural alone %.4f; the neural "
        "reader reads %.1f%%), ECE %.4f",
        fusion["weight_classical"],
        fusion["temperature"],
        fusion["min_confidence"],
        fusion["n"],
        fusion["val_exact"],
        fusion["val_exact_fused"],
        fusion["val_exact_classical"],
        fusion["val_exact_neural"],
        100 * fusion["neural_share"],
        fusion["ece"],
    )


def _torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def _plan(labelled, cfg: Config, reader, *, logger, unlabelled: int = 0) -> TrainingPlan:
    """The run's one survey and plan (every decision and its reason logged)."""
    survey = survey_dataset(labelled, stage_params(cfg)[0], seed=cfg.training.seed, input_settings=cfg.input)
    plan = plan_training(
        survey, cfg, reader=reader, torch_available=_torch_available(), unlabelled=unlabelled
    )
    logger.info(
        "survey: %d captchas, lengths %s, charset %r, images %.0fx%.0f px, text lines %.0f px, plain "
        "segmentation right on %.1f%% of %d sampled",
        survey["images"],
        survey["lengths"],
        survey["charset"],
        survey["image_width"],
        survey["image_height"],
        survey["line_height"],
        100 * survey["segmentation_yield"],
        survey["sampled"],
    )
    for key, why in plan.reasons.items():
        value = plan.chosen.get(key)
        logger.info("plan: %s%s: %s", key, "" if value is None else f" = {value}", why)
    return plan


def train_model(
    dataset_dir: str | Path,
    cfg: Config,
    target: Path,
    *,
    logger,
    work_dir: Path,
    reader: str | None = None,
    progress: bool = True,
    unlabelled: str | Path | None = None,
) -> tuple[Manifest, list[tuple[str, str]]]:
    """Build the best model ``training.budget_minutes`` affords from a labelled folder and publish it.

    The run surveys the data, decides which readers pay off and with which
    settings (:func:`captcha_solver.training.plan_training`; every decision
    and its reason goes to the log and the manifest's ``plan``), trains them
    on one split, fits their fusion on the validation captchas, and
    publishes the model only after reading those captchas back through the
    path ``predict`` uses.

    Parameters
    ----------
    dataset_dir : path
        Folder of captchas named ``<label>.<ext>``.
    cfg : Config
    target : Path
        The model folder to publish (atomically: the old model stays until the
        new one is complete and verified, and is then kept as ``NAME.prev``).
    logger : logging.Logger
    work_dir : Path
        Where neural checkpoints are kept (``data/``).
    reader : {"classical", "neural", "auto"}, optional
        Default ``training.reader``.
    progress : bool
        One progress display for the run.
    unlabelled : path, optional
        Folder of unlabelled captchas of the style to self-train on (default ``training.unlabelled``;
        empty: none); see :mod:`captcha_solver.training._self_training`.

    Returns
    -------
    manifest : artifacts.Manifest
        The manifest of the published model.
    skipped : list of (str, str)
        Files not trained on, with the reason.

    Raises
    ------
    artifacts.ModelTargetError
        Before any work, if ``target`` (or ``NAME.prev``) holds anything but
        a model; nothing is then created or deleted.
    TrainingMismatchError
        If the model read back from its folder reads the validation captchas
        worse than training measured (it is then not published).
    """
    started = time.perf_counter()
    # Before any work: never train for a folder that holds something else than a model.
    prepare_model_dir(target, logger=logger)
    remove_stale_training_dirs(logger)
    labelled, skipped = labelled_files(dataset_dir, cfg)
    # The argument (train --unlabelled) overrides the setting, and the manifest's config says so.
    if unlabelled:
        cfg = apply_overrides(cfg, {"training.unlabelled": str(unlabelled)})
    unlabelled = cfg.training.unlabelled
    pool, left_out = unlabelled_files(unlabelled, labelled, cfg) if unlabelled else ([], [])
    budget = cfg.training.budget_minutes * 60
    with RunProgress(budget, enabled=progress) as run:
        run.phase("survey", f"{len(labelled)} captchas")
        plan = _plan(labelled, cfg, reader, logger=logger, unlabelled=len(pool))
        cfg = plan.config
        if plan.neural:  # a GPU asked for and missing is an error now, not after the classical reader
            from captcha_solver.training.neural._device import resolve_device, resolve_precision

            where = resolve_device(cfg.training.device)
            amp = resolve_precision(cfg.training.precision, where)
            logger.info(
                "train: the neural reader trains on %s in %s (training.device %s, training.precision %s)",
                where, "bf16" if amp is not None else "fp32", cfg.training.device, cfg.training.precision,
            )  # fmt: skip
        which = reader or cfg.training.reader
        logger.info(
            "train: %s on %d labelled images from %s into %s, budget %.0f min",
            " + ".join(plan.readers),
            len(labelled),
            dataset_dir,
            target,
            cfg.training.budget_minutes,
        )
        # The manifest's entries as the run learns them; checked and typed before publication.
        base: dict[str, Any] = {
            "reader": which,
            "plan": plan.to_dict(),
            "labels": {"charset": plan.survey["charset"], "lengths": plan.survey["lengths"]},
        }
        cleanups: list = []
        # One split for every reader: both are validated, and their fusion
        # fitted, on captchas neither trained on.
        train_paths, val_paths = split_dataset(labelled, cfg.training.validation_fraction, cfg.training.seed)

        def train_round(paths, share: float = 1.0, init_from=None, merged=None, changes=None) -> Round:
            """The planned readers trained on ``paths`` with ``share`` of the budget left, and their fusion.

            ``merged`` is ``(paths, groups)``: pseudo-labelled captchas whose labels the neural reader learns
            with each group's characters as one class (the classical reader learns them as read); ``changes``
            are settings this round alone uses (a second opinion's seed and epochs).
            """
            got, began = Round(copy.deepcopy(base), {}), time.perf_counter()
            here = apply_overrides(cfg, changes) if changes else cfg
            if plan.classical:
                run.phase("classical", "segmenting, aligning and fitting the glyph classifiers")
                entries, artifacts, more_skipped, cleanup = _classical_part(
                    (paths, val_paths), here, logger=logger, progress=False
                )
                got.draft.update(entries)
                got.files.update(artifacts)
                skipped.extend(more_skipped)
                cleanups.append(cleanup)
                run.best("classical val exact", entries["metrics"].get("val_exact", 0.0))
            if plan.neural:
                split = (paths, val_paths)
                epochs = plan.round_epochs(len(paths)) if init_from is not None else None
                if epochs is not None:  # a self-training round: fine-tuning, sized in captchas seen
                    here = apply_overrides(
                        here, {"neural.epochs": epochs, "neural.learning_rate": plan.round_learning_rate}
                    )
                more = _neural_part(
                    got.draft, got.files, cleanups, split, here, run, logger, work_dir, share, init_from, merged
                )  # fmt: skip
                skipped.extend(more)
            if plan.classical and plan.neural:
                run.phase("fusion", f"scoring {len(val_paths)} validation captchas with both readers")
                _fit_fusion(got.draft, got.files, (paths, val_paths), here, logger=logger)
                run.best("fused val exact", got.draft["metrics"]["val_exact"])
            got.seconds = time.perf_counter() - began
            return got

        try:
            if not pool:
                done = train_round(train_paths)
            else:
                work = Path(tempfile.mkdtemp(prefix="self-training-", dir=_made(work_dir)))
                cleanups.append(lambda: shutil.rmtree(work, ignore_errors=True))
                first = train_round(train_paths, FIRST_SHARE)
                done, section, unreadable = self_train(
                    first, train_round, labelled_train=train_paths, val_paths=val_paths, unlabelled=pool, cfg=cfg,
                    seconds_left=lambda: run.left - _reserve(run), work=work, logger=logger,
                )  # fmt: skip
                done.draft["self_training"] = {**section, "folder": unlabelled, "left_out": len(left_out)}
                skipped.extend(left_out + unreadable)
            draft, files = done.draft, done.files
            # Each reader lists what it could not read; a file is reported once.
            skipped[:] = list(dict(skipped).items())
            for path, reason in skipped:
                logger.warning("skipped %s: %s", path, reason)
            draft.update(
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
            run.phase("verify", "reading the validation captchas back from the staged model folder")
            manifest = Manifest.from_entries(draft, files, target)
            trained = _val_exact(manifest.metrics)
            save_model(
                target, files, manifest, logger=logger, verify=verifier(val_paths, cfg, trained, logger)
            )
        finally:
            for cleanup in cleanups:
                cleanup()
        manifest = load_model_folder(target)[1]
        run.phase("done", f"{' + '.join(plan.readers)} published to {target}")
    logger.info(
        "train: model saved to %s (%s), validation exact %.4f (read back from the folder: %.4f), %d files "
        "skipped, %.1f s",
        target,
        " + ".join(plan.readers),
        _val_exact(manifest.metrics),
        _val_exact(manifest.verified),
        len(skipped),
        time.perf_counter() - started,
    )
    track(cfg, manifest, target, logger)
    return manifest, skipped


def _val_exact(figures: dict | None) -> float:
    """The exact accuracy of a manifest's figures (``metrics``, ``verified``); NaN if not measured."""
    return float((figures or {}).get("val_exact", float("nan")))


def _made(folder: Path) -> Path:
    Path(folder).mkdir(parents=True, exist_ok=True)
    return Path(folder)


def _reserve(run: RunProgress) -> float:
    """Seconds of the budget kept for the fusion, the export and the runtime check."""
    return 60 + 0.04 * run.budget


def _neural_part(
    draft, files, cleanups, split, cfg: Config, run: RunProgress, logger, work_dir, share=1.0, init_from=None,
    merged=None,
) -> list:  # fmt: skip
    """Train the neural reader in ``share`` of what the budget leaves (in place: draft entries, files, cleanups).

    ``init_from`` is an earlier neural run's folder to start from; ``merged`` is passed to
    :func:`train_neural_reader`. Returns the files it could not read, with the reason.
    """
    train_paths, val_paths = split
    minutes = cfg.neural.max_minutes or round(max(1.0, (run.left - _reserve(run)) * share / 60), 2)
    logger.info(
        "plan: neural.max_minutes = %.2f: %s",
        minutes,
        "set in the configuration" if cfg.neural.max_minutes else "what the budget leaves",
    )
    draft["plan"]["chosen"]["neural.max_minutes"] = minutes
    draft["plan"]["chosen"]["neural.epochs"] = cfg.neural.epochs  # a self-training round's own, if it has one
    run.phase("neural", "decoding the captchas")

    def on_epoch(epoch, planned, val_exact, best_exact):
        run.phase("neural", f"epoch {epoch}/{planned}, val exact {val_exact:.4f}")
        run.best("neural val exact", best_exact)

    neural_dir, metrics, history, skipped = train_neural_reader(
        train_paths,
        val_paths,
        apply_overrides(cfg, {"neural.max_minutes": minutes}),
        work_dir=work_dir,
        logger=logger,
        progress=False,
        on_epoch=on_epoch,
        init_from=init_from,
        merged=merged,
    )
    cleanups.append(lambda: shutil.rmtree(neural_dir, ignore_errors=True))
    files.update({name: neural_dir / name for name in (NEURAL_MODEL, NEURAL_META)})
    # Per-epoch loss and validation figures: learning curves for the
    # tracker and for anyone asking why training stopped where it did.
    draft["neural"] = {"metrics": metrics, "history": history}
    draft.setdefault("metrics", {"val_exact": metrics.get("val_exact", float("nan"))})
    return skipped
