"""Train the classical reader from a folder of labelled captchas."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from captcha_solver.artifacts import GLYPH_MODEL
from captcha_solver.common import ScratchDir, remove_stale_scratch
from captcha_solver.common import progress as show_progress
from captcha_solver.glyph_reader import DecodeParams, GlyphReader, OnnxGlyphClassifier
from captcha_solver.image_io import read_labelled
from captcha_solver.training._onnx import check_parity, max_abs_difference
from captcha_solver.training.classical._estimators import fit_estimator
from captcha_solver.training.classical._export import export_onnx
from captcha_solver.training.classical._pool import init_pool_worker, init_worker, sample_one
from features import FeatureParams
from segmentation import SegmentationParams

__all__ = [
    "SklearnProba",
    "TrainOutcome",
    "TrainResult",
    "TrainingData",
    "collect_samples",
    "fit_candidates",
    "remove_stale_training_dirs",
    "stage_params",
    "train_reader",
]

#: Prefix of the temporary folder the ONNX file is exported into before publication.
SCRATCH_PREFIX = "captcha-train-"
GARBAGE_SYMBOL = "\u2205"  # shown for the not-a-glyph class in reports


@dataclass
class TrainingData:
    """Feature rows and class indices, with what could not be used."""

    X: np.ndarray
    y: np.ndarray
    skipped: list[tuple[str, str]] = field(default_factory=list)
    aligned: int = 0
    used: int = 0


@dataclass
class TrainResult:
    """The chosen classifier and the comparison behind the choice."""

    name: str
    estimator: object
    comparison: dict[str, dict[str, float]]


class SklearnProba:
    """Adapter: a fitted estimator as a ``classify(X) -> (N, n_classes)`` callable."""

    def __init__(self, estimator, n_classes: int):
        self.estimator = estimator
        self.columns = np.asarray(estimator.classes_).ravel().astype(np.int64)
        self.n_classes = n_classes

    def __call__(self, X: np.ndarray) -> np.ndarray:
        out = np.zeros((X.shape[0], self.n_classes), np.float32)
        if X.shape[0]:
            out[:, self.columns] = self.estimator.predict_proba(X)
        return out


def collect_samples(
    paths: Sequence[str],
    class_index: dict[str, int],
    seg_params: SegmentationParams,
    feat_params: FeatureParams,
    *,
    max_garbage: int,
    seed: int,
    workers: int,
    limits,
    reader: GlyphReader | None = None,
    progress: Callable | None = None,
    desc: str = "samples",
) -> TrainingData:
    """Samples of many captchas, in parallel; files that fail are listed, not fatal."""
    init_args = (class_index, seg_params, feat_params, max_garbage, seed, limits, reader)
    results = []
    if workers <= 1 or len(paths) < 32:
        init_worker(*init_args)
        iterator = map(sample_one, paths)
        results = list(progress(iterator, total=len(paths), desc=desc) if progress else iterator)
    else:
        with ProcessPoolExecutor(
            max_workers=workers, initializer=init_pool_worker, initargs=init_args
        ) as pool:
            iterator = pool.map(sample_one, paths, chunksize=16)
            results = list(progress(iterator, total=len(paths), desc=desc) if progress else iterator)
    Xs, ys, skipped, aligned = [], [], [], 0
    for path, samples, reason in results:
        if samples is None:
            skipped.append((path, reason))
            continue
        Xs.append(samples.X)
        ys.append(samples.y)
        aligned += samples.aligned
    width = Xs[0].shape[1] if Xs else 0
    X = np.vstack(Xs) if Xs else np.zeros((0, width), np.float32)
    y = np.concatenate(ys) if ys else np.zeros(0, np.int64)
    return TrainingData(X, y, skipped, aligned, len(Xs))


def fit_candidates(
    names: Sequence[str],
    data: TrainingData,
    evaluate: Callable[[object], dict[str, float]],
    *,
    params: dict,
    seed: int,
    threads: int,
    select_by: str,
    geometry_columns: slice,
    log: Callable[[str], None] = print,
) -> TrainResult:
    """Fit each candidate on ``data``, score it with ``evaluate``, keep the best."""
    comparison: dict[str, dict[str, float]] = {}
    best_name, best_est, best_score = None, None, -np.inf
    for name in names:
        t0 = time.perf_counter()
        estimator = fit_estimator(
            name, data.X, data.y, params=params, seed=seed, threads=threads, geometry_columns=geometry_columns
        )
        fit_s = time.perf_counter() - t0
        scores = evaluate(estimator)
        scores["fit_seconds"] = fit_s
        comparison[name] = scores
        log(f"classifier {name}: " + ", ".join(f"{k}={v:.4f}" for k, v in scores.items()))
        if scores[select_by] > best_score:
            best_name, best_est, best_score = name, estimator, scores[select_by]
    return TrainResult(best_name, best_est, comparison)


def onnx_parity(estimator, onnx_path: Path, X: np.ndarray, n_classes: int) -> float:
    """Largest absolute difference between ONNX and estimator probabilities on ``X``."""
    columns = np.asarray(estimator.classes_).ravel().astype(int).tolist()
    runtime = OnnxGlyphClassifier(onnx_path, columns, n_classes)
    return max_abs_difference(runtime, SklearnProba(estimator, n_classes), [X])


@dataclass
class TrainOutcome:
    """Everything ``train`` publishes: the ONNX file and what the manifest records."""

    charset: str
    class_columns: list[int]
    seg_params: SegmentationParams
    feat_params: FeatureParams
    decode_params: DecodeParams
    chosen: str
    comparison: dict
    metrics: dict
    parity: float
    onnx_path: Path
    skipped: list[tuple[str, str]]
    _tmp: ScratchDir | None = None

    def cleanup(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()


def remove_stale_training_dirs(logger=None) -> list[Path]:
    """Delete the ``captcha-train-*`` temporary folders that killed training runs left.

    Folders still in use by a running training (see ``captcha_solver.common.ScratchDir``)
    are kept. Returns the folders removed.
    """
    removed = remove_stale_scratch(SCRATCH_PREFIX)
    for path in removed:
        if logger:
            logger.info("removed %s, left by an interrupted training run", path)
    return removed


def _progress_bar(enabled: bool):
    if not enabled:
        return None
    return lambda it, total, desc: show_progress(it, total=total, desc=desc)


def _read_all(reader: GlyphReader, images: list[np.ndarray]) -> list[str]:
    return [reader.read(im).text for im in images]


def stage_params(cfg) -> tuple[SegmentationParams, FeatureParams, DecodeParams]:
    """The stages' parameters from the settings' ``segmentation``, ``features`` and ``decoding`` sections."""

    def section(cls, values):
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})

    return (
        section(SegmentationParams, cfg.segmentation.to_dict()),
        section(FeatureParams, cfg.features.to_dict()),
        section(DecodeParams, cfg.decoding.to_dict()),
    )


def _glyph_samples(train_paths, class_index, charset, cfg, common: dict, decode_params, geometry, logger):
    """Glyph samples of the training captchas: plain segmentation, then forced alignment of the rest."""
    tr = cfg.training
    data = collect_samples(train_paths, class_index, max_garbage=tr.max_garbage, desc="glyphs", **common)
    unsegmented = [p for p, reason in data.skipped if "segmentation found no reading" in reason]
    broken = [(p, r) for p, r in data.skipped if "segmentation found no reading" not in r]
    logger.info("plain segmentation matched %d of %d training captchas", data.used, len(train_paths))
    if tr.align_unsegmented and unsegmented and data.used:
        # Second pass: a quick linear model finds, by forced alignment, which
        # pieces make each character where components and label disagree
        # (glyphs cut by the image edge, touching pairs).
        quick = fit_estimator(
            "logreg",
            data.X,
            data.y,
            params=cfg.classifier.to_dict(),
            seed=tr.seed,
            threads=common["workers"],
            geometry_columns=geometry,
        )
        reader = GlyphReader(
            SklearnProba(quick, len(charset) + 1),
            charset,
            common["seg_params"],
            common["feat_params"],
            decode_params,
        )
        extra = collect_samples(
            unsegmented, class_index, max_garbage=tr.max_garbage, reader=reader, desc="align", **common
        )
        data = TrainingData(
            np.vstack([data.X, extra.X]) if extra.used else data.X,
            np.concatenate([data.y, extra.y]) if extra.used else data.y,
            broken + extra.skipped,
            extra.aligned,
            data.used + extra.used,
        )
        logger.info("forced alignment recovered %d of %d captchas", extra.used, len(unsegmented))
    if data.used == 0:
        raise ValueError("no training captcha could be segmented; check the images and segmentation settings")
    return data


def _validation_images(val_paths, cfg, skipped: list) -> tuple[list[np.ndarray], list[str]]:
    """The validation captchas decoded, with their labels; unreadable ones go to ``skipped``."""
    read = list(read_labelled(val_paths, cfg.input, skipped=skipped))
    return [rgb for _, _, rgb in read], [label for _, label, _ in read]


def _export_checked(result, data, val_glyphs, n_classes: int, logger):
    """Export the chosen classifier to ONNX in a temporary folder and check it against the estimator.

    Raises
    ------
    RuntimeError
        If the ONNX model's probabilities differ from the estimator's by more than 1e-3.
    """
    tmp = ScratchDir(SCRATCH_PREFIX)
    onnx_path = Path(tmp.name) / GLYPH_MODEL
    export_onnx(result.estimator, data.X.shape[1], onnx_path)
    check = val_glyphs.X if val_glyphs.used else data.X[:500]
    parity = onnx_parity(result.estimator, onnx_path, check, n_classes)
    logger.info(
        "ONNX export of %s: max |p_onnx - p_sklearn| = %.2e on %d glyphs", result.name, parity, len(check)
    )
    check_parity(parity, 1e-3, result.name)
    return tmp, onnx_path, parity


def _scorer(charset: str, params: tuple, val_images, val_labels, val_glyphs):
    """The validation score of a fitted estimator: captchas read end to end, and glyphs for ROC AUC."""
    from captcha_solver.metrics import character_accuracy, exact_accuracy, macro_roc_auc

    n_classes = len(charset) + 1

    def evaluate(estimator) -> dict[str, float]:
        proba_fn = SklearnProba(estimator, n_classes)
        reader = GlyphReader(proba_fn, charset, *params)
        t0 = time.perf_counter()
        preds = _read_all(reader, val_images)
        per_image = (time.perf_counter() - t0) * 1e3 / max(len(val_images), 1)
        scores = {
            "val_exact": exact_accuracy(preds, val_labels) if val_labels else float("nan"),
            "val_char": character_accuracy(preds, val_labels) if val_labels else float("nan"),
            "val_ms_per_captcha": per_image,
        }
        if val_glyphs.used:
            scores["val_glyph_macro_auc"] = macro_roc_auc(
                val_glyphs.y, proba_fn(val_glyphs.X), list(range(n_classes))
            )
        return scores

    return evaluate


def train_reader(
    train_paths: Sequence[str], val_paths: Sequence[str], cfg, *, logger, progress: bool = True
) -> TrainOutcome:
    """Train the classical reader on the run's split of labelled captcha files (see ``training.train_model``).

    Files that cannot be read are left out and listed in ``TrainOutcome.skipped`` with the reason.
    """
    from captcha_solver.image_io import charset_of, label_from_path
    from features import GEOMETRY_NAMES, feature_count

    seg_params, feat_params, decode_params = stage_params(cfg)
    tr = cfg.training
    workers = tr.workers or os.cpu_count() or 1
    # The charset is what the labels use, case-sensitive.
    charset = charset_of(label_from_path(p) for p in [*train_paths, *val_paths])
    class_index = {c: i for i, c in enumerate(charset)}
    n_classes = len(charset) + 1
    common = dict(
        seg_params=seg_params,
        feat_params=feat_params,
        seed=tr.seed,
        workers=workers,
        limits=cfg.input,
        progress=_progress_bar(progress),
    )
    logger.info(
        "charset of %d symbols; %d training and %d validation images",
        len(charset),
        len(train_paths),
        len(val_paths),
    )
    geometry = slice(feature_count(feat_params) - len(GEOMETRY_NAMES), feature_count(feat_params))
    data = _glyph_samples(train_paths, class_index, charset, cfg, common, decode_params, geometry, logger)
    # Validation: whole captchas read end to end, and glyphs for ROC AUC.
    val_images, val_labels = _validation_images(val_paths, cfg, data.skipped)
    val_glyphs = collect_samples(
        val_paths, class_index, max_garbage=0, desc="val glyphs", **dict(common, progress=None)
    )

    evaluate = _scorer(charset, (seg_params, feat_params, decode_params), val_images, val_labels, val_glyphs)

    result = fit_candidates(
        cfg.classifier.candidates,
        data,
        evaluate,
        params=cfg.classifier.to_dict(),
        seed=tr.seed,
        threads=workers,
        select_by=cfg.classifier.select_by,
        geometry_columns=geometry,
        log=logger.info,
    )
    tmp, onnx_path, parity = _export_checked(result, data, val_glyphs, n_classes, logger)
    metrics = dict(result.comparison[result.name])
    metrics.update(
        train_captchas=len(train_paths),
        val_captchas=len(val_images),
        train_glyph_samples=int(len(data.y)),
        aligned_captchas=int(data.aligned),
        plain_segmentation_yield_train=float(data.used - data.aligned) / max(len(train_paths), 1),
    )
    return TrainOutcome(
        charset=charset,
        class_columns=np.asarray(result.estimator.classes_).ravel().astype(int).tolist(),
        seg_params=seg_params,
        feat_params=feat_params,
        decode_params=decode_params,
        chosen=result.name,
        comparison=result.comparison,
        metrics=metrics,
        parity=parity,
        onnx_path=onnx_path,
        skipped=data.skipped,
        _tmp=tmp,
    )
