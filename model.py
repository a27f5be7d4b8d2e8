"""Captcha solver: train on a folder of labelled captchas, predict text from images.

``My_CaptchaSolver_Model`` composes the stages (decoding, segmentation,
glyph features, the ONNX glyph classifier and lattice decoding) and owns the
model folder; the click CLI below only calls it::

    python model.py generate --out data/demo --count 20 --seed 1
    python model.py train --dataset DIR [--model-dir DIR]
    python model.py predict --dataset DIR | --image FILE [--results PATH]
    python model.py evaluate --dataset DIR
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from artifacts import (
    GLYPH_MODEL,
    NEURAL_META,
    NEURAL_MODEL,
    CorruptModelError,
    ModelFolderError,
    ModelNotFoundError,
    dataset_hash,
    has_model,
    load_model_folder,
    package_versions,
    prepare_model_dir,
    save_model,
    update_manifest,
)
from common import ResultsLog, escape_text, exit_with_parent, get_logger
from features import FeatureParams
from image_io import ImageDecodeError, decode_image, label_from_path, list_images
from recognition import DecodeParams, GlyphReader
from routing import DEFAULT_MIN_CONFIDENCE, keep_classical, pick_min_confidence, routed_choice
from segmentation import SegmentationParams
from settings import Config, load_config

__all__ = ["My_CaptchaSolver_Model", "cli", "main"]

PACKAGE_DIR = Path(__file__).resolve().parent
#: A file-name stem is a label when it is 1..max_glyphs ASCII letters or digits.
_LABEL = re.compile(r"^[A-Za-z0-9]+$")


def default_model_dir(config: Config) -> Path:
    """``./model`` (or the configured folder) if it, or its backup, holds a model, else the shipped model."""
    local = Path(config.paths.model_dir)
    if has_model(local):
        return local
    return PACKAGE_DIR / "model"


def label_problem(label: str, max_glyphs: int) -> str | None:
    """Why a file-name stem cannot be a training label, or None if it can."""
    if not _LABEL.match(label):
        return f"file name {label!r} is not a label (expected 1-{max_glyphs} ASCII letters or digits)"
    if len(label) > max_glyphs:
        return f"label {label!r} has {len(label)} characters, over segmentation.max_glyphs = {max_glyphs}"
    return None


# Worker-process state for batch prediction: each process loads the model once.
_WORKER: dict[str, Any] = {}


def _init_predict_worker(model_dir: str, config: Config) -> None:
    exit_with_parent()  # a killed `predict --workers N` must not leave its workers behind
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    solver = My_CaptchaSolver_Model(model_dir=model_dir, config=config, quiet=True)
    solver.load()
    _WORKER["solver"] = solver


def _predict_in_worker(path: str) -> dict[str, Any]:
    return _WORKER["solver"].predict(path, log_result=False)


class My_CaptchaSolver_Model:
    """The captcha solver: a classical reader trained per captcha style.

    Parameters
    ----------
    model_dir : path, optional
        Folder of the trained model. Default: ``./model`` if it holds a
        model, else the model shipped inside the package.
    config : Config or path, optional
        Settings, or the path of a ``config.yaml`` (default: ``./config.yaml``,
        else the packaged one).
    overrides : dict, optional
        Dotted config keys overriding the file (``{"training.seed": 3}``).
    results_csv : path, optional
        Where predictions are appended (default ``paths.results_csv``).
    quiet : bool
        No console logging (worker processes).
    """

    def __init__(
        self,
        model_dir: str | Path | None = None,
        config: Config | str | Path | None = None,
        overrides: dict[str, Any] | None = None,
        results_csv: str | Path | None = None,
        quiet: bool = False,
    ):
        self.config = config if isinstance(config, Config) else load_config(config, overrides)
        self.model_dir = Path(model_dir) if model_dir else None
        self.results_csv = Path(results_csv or self.config.paths.results_csv)
        self.logger = get_logger(
            self.config.paths.log_file, level=self.config.logging.level, console=self.config.logging.console and not quiet
        )
        self.reader_: GlyphReader | None = None
        self.neural_ = None
        self.manifest_: dict | None = None

    # ------------------------------------------------------------------ model
    def _model_dir(self, for_training: bool = False) -> Path:
        if self.model_dir is not None:
            return self.model_dir
        return Path(self.config.paths.model_dir) if for_training else default_model_dir(self.config)

    def load(self) -> "My_CaptchaSolver_Model":
        """Load the model folder (checking every artifact's sha256).

        A folder holds the classical reader (``glyph_classifier.onnx``), the
        neural reader (``neural_reader.onnx`` and ``.json``), or both. If the
        folder is missing or incomplete, the model it replaced (``NAME.prev``)
        is loaded instead, with a warning.

        Raises
        ------
        artifacts.ModelNotFoundError
            If there is no model in the folder (nor a previous one).
        artifacts.CorruptModelError
            If the manifest or a file is broken (the message says which).
        """
        model_dir, manifest = load_model_folder(self._model_dir(), logger=self.logger)
        try:
            self.reader_, self.neural_ = _readers_from(manifest, model_dir, threads=self.config.classifier.threads)
        except (ValueError, TypeError) as exc:  # an ONNX file that does not parse, settings that do not fit
            raise CorruptModelError(model_dir, str(exc)) from exc
        self.manifest_ = manifest
        self.logger.debug("loaded model from %s (%s)", model_dir, manifest.get("reader", "classical"))
        return self

    @property
    def min_confidence(self) -> float:
        """The routing threshold in force: ``routing.min_confidence`` if set (>= 0), else the model's own.

        The model's own is the one picked on validation at training time
        (manifest ``routing.min_confidence``); a model trained before
        thresholds were picked gets :data:`routing.DEFAULT_MIN_CONFIDENCE`.
        """
        if self.config.routing.min_confidence >= 0:
            return self.config.routing.min_confidence
        return float((self.manifest_ or {}).get("routing", {}).get("min_confidence", DEFAULT_MIN_CONFIDENCE))

    def _check_loaded(self) -> None:
        if self.reader_ is None and self.neural_ is None:
            try:
                self.load()
            except ModelNotFoundError as exc:  # a broken model is not "not trained": load()'s error says what broke
                raise RuntimeError(
                    f"My_CaptchaSolver_Model is not trained yet: {exc}. "
                    "Call 'train' or load a model from model/."
                ) from exc

    # ---------------------------------------------------------------- predict
    def predict(self, image: str | Path | bytes | np.ndarray, *, name: str | None = None, log_result: bool = True) -> dict:
        """Read the text of one captcha.

        Parameters
        ----------
        image : path, bytes or (H, W, 3) uint8 RGB array
        name : str, optional
            Name for the results row (default: the file path).
        log_result : bool
            Append the row to ``results.csv`` (batch runs append from the
            parent process instead).

        Returns
        -------
        row : dict
            ``file, prediction, confidence, char_confidences, latency_ms,
            reader, status, error`` and ``boxes``. Bad input gives
            ``status="error"`` and the reason in ``error``; it does not raise.
        """
        self._check_loaded()
        if name is None:
            name = str(image) if isinstance(image, (str, Path)) else "<array>" if isinstance(image, np.ndarray) else "<bytes>"
        t0 = time.perf_counter()
        row: dict[str, Any] = {"file": name}
        try:
            if isinstance(image, np.ndarray):
                rgb = image
                if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
                    raise ImageDecodeError(name, f"expected a (H, W, 3) uint8 RGB array, got {rgb.dtype} {rgb.shape}")
            else:
                rgb = decode_image(
                    image, max_pixels=self.config.input.max_pixels, max_bytes=self.config.input.max_bytes, name=name
                )
            t1 = time.perf_counter()
            row.update(self._read(rgb))
            row["timings_ms"] = dict(row.get("timings_ms", {}), decode=(t1 - t0) * 1e3)
            if not row["prediction"]:
                row.update(status="error", error=f"{name}: no text found")
        except (ImageDecodeError, OSError) as exc:
            row.update(
                prediction="", confidence=0.0, char_confidences=[], boxes=[], reader="", status="error", error=str(exc)
            )
            if log_result:  # batch runs log their errors once, in the parent process
                self.logger.error("%s", exc)
        row["latency_ms"] = (time.perf_counter() - t0) * 1e3
        if log_result:
            ResultsLog(self.results_csv).append(_csv_row(row))
        return row

    def _read(self, rgb: np.ndarray) -> dict[str, Any]:
        """Read with the classical reader, the neural one, or both (``routing`` settings).

        ``auto`` trusts the classical reading when it is plausible (one
        component per character) and confident; otherwise the neural reader
        reads too and the more confident answer wins.
        """
        route = self.config.routing
        classical = None
        if self.reader_ is not None and (route.reader != "neural" or self.neural_ is None):
            classical = self.reader_.read(rgb, allowed=route.allowed_chars or None, case=route.case)
            plausible, threshold = _plausible(classical), self.min_confidence
            if self.neural_ is None or route.reader == "classical" or keep_classical(
                plausible, classical.confidence, threshold
            ):
                return _classical_row(classical)
        neural = self.neural_.read(rgb, topk=route.topk, allowed=route.allowed_chars or None, case=route.case)
        if classical is not None and routed_choice(plausible, classical.confidence, neural.confidence, threshold):
            return _classical_row(classical)
        return {
            "prediction": neural.text,
            "confidence": neural.confidence,
            "char_confidences": list(neural.char_confidences),
            "boxes": [],
            "reader": "neural",
            "topk": [[text, float(p)] for text, p in neural.topk],
            "status": "ok",
            "error": "",
            # Prefixed: the neural reader's own "decode" is CTC decoding, not PNG decoding.
            "timings_ms": {f"neural_{k}": v for k, v in neural.timings_ms.items() if k != "total"},
        }

    def predict_dataset(self, dataset_dir: str | Path, *, workers: int = 0, progress: bool = True) -> list[dict]:
        """Predict every image of a folder; bad files become error rows, the run goes on.

        Rows are appended to ``results.csv`` as they complete, one per file,
        including files that are not images or sit in nested folders.
        """
        self._check_loaded()
        images, rejected = _list_dataset(dataset_dir, self.config)
        results = ResultsLog(self.results_csv)
        rows: list[dict] = []
        for path, reason in rejected:
            row = {"file": str(path), "prediction": "", "confidence": 0.0, "char_confidences": [], "reader": "",
                   "latency_ms": 0.0, "status": "error", "error": f"{path.name}: {reason}"}
            self.logger.error("%s: %s", path, reason)
            results.append(_csv_row(row))
            rows.append(row)
        workers = workers or os.cpu_count() or 1
        paths = [str(p) for p in images]
        if workers > 1 and len(paths) >= 8:
            pool = ProcessPoolExecutor(
                max_workers=workers, initializer=_init_predict_worker, initargs=(str(self._model_dir()), self.config)
            )
            iterator: Iterable[dict] = pool.map(_predict_in_worker, paths, chunksize=4)
        else:
            pool = None
            iterator = (self.predict(p, log_result=False) for p in paths)
        try:
            for row in _progress(iterator, total=len(paths), desc="predict", enabled=progress):
                if row["status"] == "error":
                    self.logger.error("%s", row["error"])
                results.append(_csv_row(row))
                rows.append(row)
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)  # after an error (disk full), stop the rest
        return rows

    # ------------------------------------------------------------------ train
    def _train_neural(self, paths: list[str], val_paths: list[str], progress: bool) -> tuple[Path, dict, list]:
        """Train the neural reader (needs torch: the ``train`` extra) in its checkpoint folder.

        The folder, ``data/neural-runs/<key>`` beside the results CSV, is named
        after the data and the network's shape, so a killed run resumes.
        Returns the folder, the scalar metrics and the per-epoch history.
        """
        try:
            from neural import NeuralConfig, train_neural
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ValueError(f"the neural reader needs torch ({exc}); install the 'train' extra") from exc
        n = self.config.neural
        config = NeuralConfig(
            epochs=n.epochs,
            patience=n.patience,
            batch_size=n.batch_size,
            height=n.height,
            channels=tuple(int(c) for c in n.channels.split(",")),
            lr=n.learning_rate,
            weight_decay=n.weight_decay,
            dropout=n.dropout,
            ema_decay=n.ema_decay,
            max_minutes=n.max_minutes,
            frame_stride=n.frame_stride,
            width_dilation=n.width_dilation,
            stem=n.stem,
            aug_affine=n.augment_geometry,
            aug_stretch=n.augment_stretch,
            seed=self.config.training.seed,
            val_fraction=self.config.training.validation_fraction,
            min_images=self.config.training.min_images,
            threads=self.config.training.workers,
        )
        # A folder named after the data and the network's shape, not a temporary
        # one: a run that is killed resumes from its last epoch when started again.
        key = hashlib.sha256(
            json.dumps(
                [sorted(map(str, paths)), sorted(map(str, val_paths)), config.height, config.frame_stride,
                 config.width_dilation, config.stem, list(config.channels), config.rnn_hidden, config.seed]
            ).encode()
        ).hexdigest()[:16]
        out = self.results_csv.parent / "neural-runs" / key
        self.logger.info("neural training checkpoints in %s (a new run with the same data resumes from it)", out)
        metrics = train_neural(
            paths, val_paths=val_paths, config=config, out_dir=out, logger=self.logger, progress=progress
        )
        scalars = {k: v for k, v in metrics.items() if isinstance(v, (int, float, str, bool))}
        return out, scalars, metrics.get("history", [])

    def train(
        self, dataset_dir: str | Path, *, reader: str | None = None, progress: bool = True
    ) -> "My_CaptchaSolver_Model":
        """Train on a folder of captchas named ``<label>.<ext>``.

        ``reader`` (default ``training.reader``) picks what is built: the
        classical reader described below, the neural (CNN + CTC) reader, or
        both, routed per captcha at prediction time (``auto``).

        Holds out ``training.validation_fraction`` of the files, fits every
        candidate classifier, keeps the best on validation exact accuracy,
        exports it to ONNX (checked against the fitted estimator) and
        publishes ``model/`` atomically with its manifest, keeping the model
        it replaces as ``model.prev/``.

        Raises
        ------
        ModelTargetError
            Before any work, if the model folder (or ``NAME.prev``) holds
            anything but a model; nothing is then created or deleted.
        FileNotFoundError, NotADirectoryError, EmptyDatasetError
            If the folder is missing or has no images.
        ValueError
            If fewer than ``training.min_images`` usable labelled images remain.
        """
        from training import remove_stale_training_dirs, split_dataset, train_reader

        started = time.perf_counter()
        cfg = self.config
        # Before any work: never train for a folder that holds something else than a model.
        target = self._model_dir(for_training=True)
        prepare_model_dir(target, logger=self.logger)
        remove_stale_training_dirs(self.logger)
        images, rejected = _list_dataset(dataset_dir, cfg)
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
        self.logger.info("training on %d labelled images from %s", len(labelled), dataset_dir)
        which = reader or cfg.training.reader
        manifest: dict[str, Any] = {"reader": which}
        files: dict[str, Path] = {}
        cleanups = []
        if which in ("classical", "auto"):
            outcome = train_reader(labelled, cfg, logger=self.logger, progress=progress)
            skipped.extend(outcome.skipped)
            cleanups.append(outcome.cleanup)
            files[GLYPH_MODEL] = outcome.onnx_path
            manifest.update(
                charset=outcome.charset,
                class_columns=outcome.class_columns,
                segmentation=dataclasses.asdict(outcome.seg_params),
                features=dataclasses.asdict(outcome.feat_params),
                decoding=dataclasses.asdict(outcome.decode_params),
                classifier={"chosen": outcome.chosen, "comparison": outcome.comparison},
                metrics=outcome.metrics,
                onnx_parity_max_abs_diff=outcome.parity,
            )
        if which in ("neural", "auto"):
            # The classical reader's split: in `auto` both readers are validated,
            # and the routing threshold picked, on captchas neither trained on.
            train_paths, val_paths = split_dataset(labelled, cfg.training.validation_fraction, cfg.training.seed)
            neural_dir, neural_metrics, neural_history = self._train_neural(train_paths, val_paths, progress)
            cleanups.append(lambda: shutil.rmtree(neural_dir, ignore_errors=True))
            files[NEURAL_MODEL] = neural_dir / NEURAL_MODEL
            files[NEURAL_META] = neural_dir / NEURAL_META
            # Per-epoch loss and validation figures: learning curves for the
            # tracker and for anyone asking why training stopped where it did.
            manifest["neural"] = {"metrics": neural_metrics, "history": neural_history}
            manifest.setdefault("metrics", {"val_exact": neural_metrics.get("val_exact", float("nan"))})
        if which == "auto":
            reader, neural = _readers_from(manifest, Path("."), threads=cfg.classifier.threads, files=files)
            evidence = routing_evidence(reader, neural, val_paths, config=cfg, progress=progress)
            manifest["routing"] = pick_min_confidence(**evidence)
            manifest["metrics"]["val_exact_routed"] = manifest["routing"]["val_exact"]
            self.logger.info(
                "routing: min_confidence %.2f picked on %d validation captchas (routed %.4f, classical %.4f, "
                "neural %.4f; the neural reader reads %.1f%%)",
                manifest["routing"]["min_confidence"], manifest["routing"]["n"], manifest["routing"]["val_exact"],
                manifest["routing"]["val_exact_classical"], manifest["routing"]["val_exact_neural"],
                100 * manifest["routing"]["neural_share"],
            )
        for path, reason in skipped:
            self.logger.warning("skipped %s: %s", path, reason)
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
            save_model(target, files, manifest, logger=self.logger)
        finally:
            for cleanup in cleanups:
                cleanup()
        self.model_dir = target
        self.skipped_ = skipped
        self.load()
        self.logger.info(
            "model saved to %s (%s reader), validation exact %.4f (%d skipped files)",
            target, which, manifest["metrics"].get("val_exact", float("nan")), len(skipped),
        )
        _track(cfg, manifest, target, self.logger)
        return self

    def tune_routing(self, dataset_dir: str | Path, *, progress: bool = True) -> dict:
        """Pick the routing threshold on a labelled folder and record it in the model's manifest.

        For a model with both readers (``auto``) whose threshold should fit
        captchas it did not train on, or one trained before thresholds were
        picked. The folder should hold captchas the model never trained on.

        Raises
        ------
        ValueError
            If the model lacks one of the two readers, or no image could be read.
        """
        self._check_loaded()
        if self.reader_ is None or self.neural_ is None:
            raise ValueError(f"{self._model_dir()}: routing needs both readers; this model has only one")
        images, rejected = _list_dataset(dataset_dir, self.config)
        for path, reason in rejected:
            self.logger.warning("skipped %s: %s", path, reason)
        evidence = routing_evidence(self.reader_, self.neural_, images, config=self.config, progress=progress)
        if not evidence["plausible"]:
            raise ValueError(f"{dataset_dir}: no readable labelled captcha to pick the threshold on")
        picked = dict(pick_min_confidence(**evidence), dataset=str(dataset_dir))
        self.manifest_ = update_manifest(self._model_dir(), {"routing": picked})
        self.logger.info("routing: min_confidence %.2f picked on %d captchas of %s (routed %.4f)",
                         picked["min_confidence"], picked["n"], dataset_dir, picked["val_exact"])
        return picked

    # --------------------------------------------------------------- evaluate
    def evaluate(self, dataset_dir: str | Path, *, workers: int = 0, progress: bool = True) -> dict:
        """Predict a labelled folder and report accuracy, confusions and glyph ROC AUC."""
        from evaluation import confusion_pairs, per_character_accuracy, summarize

        rows = self.predict_dataset(dataset_dir, workers=workers, progress=progress)
        # Every image file counts (an unreadable one as a miss); folders and
        # files of other kinds are not captchas.
        extensions = tuple(self.config.input.extensions)
        labelled = [r for r in rows if Path(r["file"]).suffix.lower() in extensions and Path(r["file"]).is_file()]
        preds = [r["prediction"] for r in labelled]
        labels = [label_from_path(r["file"]) for r in labelled]
        report = summarize(preds, labels)
        report["segmentation_yield"] = float(np.mean([len(p) == len(t) for p, t in zip(preds, labels)])) if labels else 0.0
        report["confused_pairs"] = [[a, b, n] for (a, b), n in confusion_pairs(preds, labels, top=20)]
        report["per_character_accuracy"] = {
            c: round(ok / total, 4) for c, (ok, total) in sorted(per_character_accuracy(preds, labels).items())
        }
        report["glyph_macro_roc_auc"], report["plain_segmentation_yield"] = self._glyph_report(labelled)
        report["latency_ms_median"] = float(np.median([r["latency_ms"] for r in rows])) if rows else 0.0
        report["errors"] = sum(r["status"] == "error" for r in rows)
        return report

    def _glyph_report(self, rows: list[dict]) -> tuple[float, float]:
        """Glyph classifier's macro one-vs-rest ROC AUC, and the plain segmentation's yield.

        The yield is the share of captchas whose connected components (dots
        merged, specks aside) number exactly the label's characters, before
        the classifier has any say; the AUC is measured on their glyphs.
        """
        from evaluation import macro_roc_auc
        from features import extract_features
        from segmentation import segment

        reader = self.reader_
        if reader is None:
            return float("nan"), float("nan")
        index = {c: i for i, c in enumerate(reader.charset)}
        X, y, matched, seen = [], [], 0, 0
        for row in rows[:2000]:
            label = label_from_path(row["file"])
            if any(c not in index for c in label):
                continue
            try:
                rgb = decode_image(row["file"], max_pixels=self.config.input.max_pixels)
            except ImageDecodeError:
                continue
            seg = segment(rgb, reader.seg_params)
            spans = seg.blob_spans()
            seen += 1
            if len(spans) != len(label):
                continue
            matched += 1
            X.append(extract_features(seg, spans, reader.feat_params))
            y.extend(index[c] for c in label)
        yield_ = matched / seen if seen else float("nan")
        if not X:
            return float("nan"), yield_
        proba = reader.classify(np.vstack(X))
        return float(macro_roc_auc(y, proba, list(range(proba.shape[1])))), yield_


def _readers_from(manifest: dict, model_dir: Path, *, threads: int = 0, files: dict[str, Path] | None = None):
    """The classical and neural readers a manifest lists (either may be None).

    ``files`` maps artifact names to paths outside ``model_dir`` (a model
    being trained, not yet published).
    """
    files = files or {}
    artifacts = set(manifest.get("artifacts", {})) | set(files)
    where = {name: Path(files.get(name, model_dir / name)) for name in (GLYPH_MODEL, NEURAL_MODEL, NEURAL_META)}
    reader = neural = None
    if GLYPH_MODEL in artifacts:
        from classifier import OnnxGlyphClassifier

        charset = manifest["charset"]
        classify = OnnxGlyphClassifier(where[GLYPH_MODEL], manifest["class_columns"], len(charset) + 1, threads=threads)
        reader = GlyphReader(
            classify,
            charset,
            SegmentationParams(**manifest["segmentation"]),
            FeatureParams(**manifest["features"]),
            DecodeParams(**manifest["decoding"]),
        )
    if NEURAL_MODEL in artifacts:
        from neural import NeuralReader

        neural = NeuralReader(where[NEURAL_MODEL], where[NEURAL_META], threads=threads)
    return reader, neural


def _list_dataset(folder: str | Path, config: Config):
    """:func:`image_io.list_images` with the ``input`` settings."""
    return list_images(folder, extensions=tuple(config.input.extensions), follow_symlinks=config.input.follow_symlinks)


def _plausible(classical) -> bool:
    """One connected component per character read: segmentation likely went right."""
    return bool(classical.text) and classical.n_blobs == len(classical.text)


def routing_evidence(reader: GlyphReader, neural, paths: Iterable[str | Path], *, config: Config, progress: bool = False) -> dict:
    """Both readers' readings of labelled captchas, as the arrays :func:`routing.pick_min_confidence` takes.

    Unreadable files are left out (they say nothing about the threshold).
    """
    out: dict[str, list] = {k: [] for k in ("classical_correct", "classical_confidence", "plausible", "neural_correct", "neural_confidence")}
    paths = list(paths)
    for path in _progress(paths, total=len(paths), desc="routing", enabled=progress):
        try:
            rgb = decode_image(path, max_pixels=config.input.max_pixels, max_bytes=config.input.max_bytes, name=str(path))
        except ImageDecodeError:
            continue
        label = label_from_path(path)
        classical = reader.read(rgb)
        reading = neural.read(rgb)
        out["classical_correct"].append(classical.text == label)
        out["classical_confidence"].append(float(classical.confidence))
        out["plausible"].append(_plausible(classical))
        out["neural_correct"].append(reading.text == label)
        out["neural_confidence"].append(float(reading.confidence))
    return out


def _classical_row(result) -> dict[str, Any]:
    return {
        "prediction": result.text,
        "confidence": result.confidence,
        "char_confidences": result.char_confidences,
        "boxes": result.boxes,
        "reader": "classical",
        "status": "ok",
        "error": "",
        "timings_ms": dict(result.timings_ms),
    }


def _csv_row(row: dict) -> dict:
    return {k: row.get(k, "") for k in ("file", "prediction", "confidence", "char_confidences", "latency_ms", "reader", "status", "error")}


def _progress(iterable, *, total: int, desc: str, enabled: bool):
    if not enabled:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, unit="img", file=sys.stderr)


def _track(cfg: Config, manifest: dict, model_dir: Path, logger) -> None:
    """Log the run to wandb (offline by default); tracking never fails training."""
    try:
        from tracking import start_run
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


# -------------------------------------------------------------------- CLI
import click  # noqa: E402  (the library above does not need click)


def _overrides(pairs: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"{pair!r}: expected section.key=value", param_hint="--set")
        out[key.strip()] = value
    return out


def _solver(ctx, **kwargs) -> My_CaptchaSolver_Model:
    from settings import ConfigError

    try:
        return My_CaptchaSolver_Model(config=ctx.obj["config"], overrides=ctx.obj["overrides"], **kwargs)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None, help="config.yaml to use.")
@click.option("--set", "sets", multiple=True, metavar="SECTION.KEY=VALUE", help="Override a config value.")
@click.pass_context
def cli(ctx, config_path, sets):
    """Captcha solver: generate, train, evaluate and predict."""
    ctx.obj = {"config": config_path, "overrides": _overrides(sets)}


@cli.command()
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder to write <text>.png files to.")
@click.option("--count", default=100, show_default=True, type=click.IntRange(1), help="Number of captchas.")
@click.option("--seed", default=0, show_default=True, type=int, help="Same seed, same images.")
@click.option("--background", multiple=True, type=click.Path(exists=True, dir_okay=False), help="Background PNG (repeatable; default: procedural).")
@click.option("--font", multiple=True, type=click.Path(exists=True, dir_okay=False), help="TrueType font (repeatable; default: Liberation Sans).")
@click.option("--mix-builtin", is_flag=True, help="Also draw with the project's own background and font.")
@click.option("--workers", default=0, type=click.IntRange(0), help="Processes (0 = all cores).")
def generate(out, count, seed, background, font, mix_builtin, workers):
    """Make captchas the way the public generator does."""
    from generator import generate_dataset

    backgrounds = list(background) or ["builtin"]
    fonts = list(font) or ["builtin"]
    if mix_builtin:
        backgrounds = sorted(set(backgrounds) | {"builtin"})
        fonts = sorted(set(fonts) | {"builtin"})
    paths = generate_dataset(out, count, seed, backgrounds=backgrounds, fonts=fonts, workers=workers or None, progress=True)
    get_logger().info("generated %d captchas in %s", len(paths), out)


@cli.command()
@click.option("--dataset", required=True, type=click.Path(), help="Folder of <label>.png captchas.")
@click.option("--model-dir", type=click.Path(file_okay=False), default=None, help="Where to save the model (default ./model).")
@click.option("--workers", default=None, type=click.IntRange(0), help="Processes (0 = all cores).")
@click.option(
    "--reader",
    type=click.Choice(["classical", "neural", "auto"]),
    default=None,
    help="What to train (default training.reader): classical, neural (CNN+CTC, needs torch), or both.",
)
@click.pass_context
def train(ctx, dataset, model_dir, workers, reader):
    """Train on a folder of labelled captchas."""
    if workers is not None:
        ctx.obj["overrides"]["training.workers"] = workers
    solver = _solver(ctx, model_dir=model_dir)
    try:
        solver.train(dataset, reader=reader)
    except (FileNotFoundError, NotADirectoryError, ValueError) as exc:
        solver.logger.error("%s", exc)
        raise click.ClickException(str(exc)) from exc
    manifest = solver.manifest_
    chosen = manifest.get("classifier", {}).get("chosen", manifest["reader"])
    click.echo(json.dumps({"model_dir": str(solver.model_dir), "chosen": chosen, **manifest["metrics"]}, indent=2))


def _dataset_or_image(solver, dataset, image, workers):
    if bool(dataset) == bool(image):
        raise click.UsageError("give exactly one of --dataset DIR or --image FILE")
    try:
        if image:
            return [solver.predict(image)]
        return solver.predict_dataset(dataset, workers=workers)
    except (OSError, ValueError, RuntimeError) as exc:  # OSError: a missing folder, a full disk
        solver.logger.error("%s", exc)
        raise click.ClickException(str(exc)) from exc


@cli.command()
@click.option("--dataset", type=click.Path(), default=None, help="Folder of captchas.")
@click.option("--image", type=click.Path(), default=None, help="One captcha file.")
@click.option("--model-dir", type=click.Path(file_okay=False), default=None, help="Model folder (default ./model).")
@click.option("--results", type=click.Path(dir_okay=False), default=None, help="CSV to append rows to.")
@click.option("--workers", default=0, type=click.IntRange(0), help="Processes (0 = all cores).")
@click.pass_context
def predict(ctx, dataset, image, model_dir, results, workers):
    """Read captchas; rows go to results.csv. Labelled folders also get accuracy figures."""
    from evaluation import summarize

    solver = _solver(ctx, model_dir=model_dir, results_csv=results)
    rows = _dataset_or_image(solver, dataset, image, workers)
    for row in rows:
        name = escape_text(Path(row["file"]).name)  # one line per file, whatever the name holds
        if row["status"] == "ok":
            click.echo(f"{name}\t{row['prediction']}\t{row['confidence']:.3f}")
        else:
            click.echo(f"{name}\tERROR\t{escape_text(row['error'])}")
    images = [r for r in rows if Path(r["file"]).suffix.lower() in solver.config.input.extensions]
    labels = [label_from_path(r["file"]) for r in images]
    if images and all(_LABEL.match(label) for label in labels):
        summary = summarize([r["prediction"] for r in images], labels)
        click.echo(
            f"exact accuracy {summary['exact_accuracy']:.4f}, character accuracy "
            f"{summary['character_accuracy']:.4f}, CER {summary['cer']:.4f} on {summary['n']} images"
        )
    errors = sum(r["status"] == "error" for r in rows)
    click.echo(f"{len(rows)} rows appended to {escape_text(solver.results_csv)} ({errors} errors)")
    if image and errors:
        sys.exit(1)


@cli.command()
@click.option("--dataset", required=True, type=click.Path(), help="Folder of labelled captchas.")
@click.option("--model-dir", type=click.Path(file_okay=False), default=None, help="Model folder (default ./model).")
@click.option("--results", type=click.Path(dir_okay=False), default=None, help="CSV to append rows to.")
@click.option("--workers", default=0, type=click.IntRange(0), help="Processes (0 = all cores).")
@click.option("--json-out", type=click.Path(dir_okay=False), default=None, help="Also write the report as JSON.")
@click.pass_context
def evaluate(ctx, dataset, model_dir, results, workers, json_out):
    """Accuracy, per-character accuracy, confused pairs and glyph ROC AUC on a labelled folder."""
    solver = _solver(ctx, model_dir=model_dir, results_csv=results)
    try:
        report = solver.evaluate(dataset, workers=workers)
    except (OSError, ValueError, RuntimeError) as exc:
        solver.logger.error("%s", exc)
        raise click.ClickException(str(exc)) from exc
    text = json.dumps(report, indent=2)
    click.echo(text)
    if json_out:
        from common import atomic_write_text

        atomic_write_text(json_out, text + "\n")


@cli.command("tune-routing")
@click.option("--dataset", required=True, type=click.Path(), help="Folder of labelled captchas the model did not train on.")
@click.option("--model-dir", type=click.Path(file_okay=False), default=None, help="Model folder (default ./model).")
@click.pass_context
def tune_routing(ctx, dataset, model_dir):
    """Pick the auto-routing threshold on labelled captchas and record it in the manifest."""
    solver = _solver(ctx, model_dir=model_dir)
    try:
        picked = solver.tune_routing(dataset)
    except (FileNotFoundError, NotADirectoryError, ValueError, RuntimeError, ModelFolderError) as exc:
        solver.logger.error("%s", exc)
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(picked, indent=2))


# Serving commands live in their own packages; their heavy imports happen when they run.
from serving.cli import serve  # noqa: E402
from ui.cli import ui  # noqa: E402

cli.add_command(serve)
cli.add_command(ui)


def main() -> None:
    """Entry point of the ``captcha-solver`` console script."""
    cli()


if __name__ == "__main__":
    main()
