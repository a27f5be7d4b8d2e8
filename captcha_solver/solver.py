"""``My_CaptchaSolver_Model``: the solver the CLI, the API and the UI call.

It owns the settings and the model folder and composes the readers
(:mod:`captcha_solver.readers`); training lives in
:mod:`captcha_solver.fitting` and the evaluation report in
:mod:`captcha_solver.report`.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from captcha_solver.artifacts import CorruptModelError, ModelNotFoundError, load_model_folder, update_manifest
from captcha_solver.common import ResultsLog, exit_with_parent, get_logger, progress
from captcha_solver.fusion import fit_fusion
from captcha_solver.image_io import ImageDecodeError, decode_image, list_dataset
from captcha_solver.readers import (
    ReadPolicy,
    default_model_dir,
    fusion_samples,
    read_routed,
    readers_from,
)
from captcha_solver.reading import csv_row, error_row, result_row
from captcha_solver.settings import Config, load_config

__all__ = ["My_CaptchaSolver_Model"]

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
    """The captcha solver: a classical and/or a neural reader trained per captcha style.

    ``__init__`` only stores the settings (no model is read): :meth:`load`,
    :meth:`train` or the first :meth:`predict` reads the model folder.

    Parameters
    ----------
    model_dir : path, optional
        Folder of the trained model. Default: ``paths.model_dir`` (``./model``)
        if it holds a model, else the model shipped inside the package.
    config : Config or path, optional
        Settings, or the path of a ``config.yaml``; by default
        ``$CAPTCHA_SOLVER_CONFIG``, else ``./config.yaml``, else the schema's
        defaults (:func:`captcha_solver.settings.load_config`).
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
        if isinstance(config, Config) and overrides:
            from captcha_solver.settings import apply_overrides

            self.config = apply_overrides(config, overrides)
        self.model_dir = Path(model_dir) if model_dir else None
        self.results_csv = Path(results_csv or self.config.paths.results_csv)
        self.logger = get_logger(
            self.config.paths.log_file,
            level=self.config.logging.level,
            console=self.config.logging.console and not quiet,
        )
        self.reader_ = None
        self.neural_ = None
        self.manifest_: dict | None = None

    # ------------------------------------------------------------------ model
    def resolved_model_dir(self, for_training: bool = False) -> Path:
        """The model folder in use: ``model_dir``, else ``paths.model_dir``, else the shipped model.

        Training always writes to ``model_dir`` or ``paths.model_dir``, never
        into the package.
        """
        if self.model_dir is not None:
            return self.model_dir
        return Path(self.config.paths.model_dir) if for_training else default_model_dir(self.config)

    def load(self) -> My_CaptchaSolver_Model:
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
        model_dir, manifest = load_model_folder(self.resolved_model_dir(), logger=self.logger)
        try:
            self.reader_, self.neural_ = readers_from(
                manifest, model_dir, threads=self.config.classifier.threads
            )
        except (ValueError, TypeError) as exc:  # an ONNX file that does not parse, settings that do not fit
            raise CorruptModelError(model_dir, str(exc)) from exc
        self.manifest_ = manifest
        self.logger.debug("loaded model from %s (%s)", model_dir, manifest.get("reader", "classical"))
        return self

    @property
    def loaded(self) -> bool:
        """True once a model with at least one reader is loaded."""
        return self.reader_ is not None or self.neural_ is not None

    @property
    def readers(self) -> list[str]:
        """The readers of the loaded model: ``"classical"``, ``"neural"`` or both."""
        return [name for name, r in (("classical", self.reader_), ("neural", self.neural_)) if r is not None]

    @property
    def charset(self) -> str:
        """The characters the loaded model reads (both readers' together)."""
        chars = set(getattr(self.reader_, "charset", "")) | set(getattr(self.neural_, "charset", ""))
        return "".join(sorted(chars))

    @property
    def policy(self) -> ReadPolicy:
        """How the readers combine: the model's fitted fusion and label lengths (manifest ``fusion``, ``labels``).

        ``routing.min_confidence`` (if >= 0) overrides the fast-path
        threshold fitted on validation; a model trained before fusion
        gets :data:`captcha_solver.readers.DEFAULT_MIN_CONFIDENCE`.
        """
        return ReadPolicy.from_manifest(self.manifest_, self.config.routing.min_confidence)

    @property
    def min_confidence(self) -> float:
        """The fast-path threshold in force (see :attr:`policy`)."""
        return self.policy.min_confidence

    def _check_loaded(self) -> None:
        if not self.loaded:
            try:
                self.load()
            except (
                ModelNotFoundError
            ) as exc:  # a broken model is not "not trained": load()'s error says what broke
                raise RuntimeError(
                    f"My_CaptchaSolver_Model is not trained yet: {exc}. Call 'train' or load a model from model/."
                ) from exc

    # ---------------------------------------------------------------- predict
    def predict(
        self, image: str | Path | bytes | np.ndarray, *, name: str | None = None, log_result: bool = True
    ) -> dict:
        """Read the text of one captcha.

        Parameters
        ----------
        image : path, bytes or (H, W, 3) uint8 RGB array
        name : str, optional
            Name for the results row (default: the file path).
        log_result : bool
            Append the row to ``results.csv`` and log errors (batch runs do
            both from the parent process instead).

        Returns
        -------
        row : dict
            ``file, prediction, confidence, char_confidences, latency_ms,
            reader, status, error``, ``boxes``, ``topk`` and ``timings_ms``
            (:func:`captcha_solver.reading.result_row`). Bad input gives
            ``status="error"`` and the reason in ``error``; it does not raise.
        """
        self._check_loaded()
        if name is None:
            name = (
                str(image)
                if isinstance(image, (str, Path))
                else "<array>"
                if isinstance(image, np.ndarray)
                else "<bytes>"
            )
        t0 = time.perf_counter()
        try:
            if isinstance(image, np.ndarray):
                rgb = image
                if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
                    raise ImageDecodeError(
                        name, f"expected a (H, W, 3) uint8 RGB array, got {rgb.dtype} {rgb.shape}"
                    )
            else:
                rgb = decode_image(
                    image,
                    max_pixels=self.config.input.max_pixels,
                    max_bytes=self.config.input.max_bytes,
                    name=name,
                )
            t1 = time.perf_counter()
            result = read_routed(self.reader_, self.neural_, rgb, self.config.routing, self.policy)
            row = result_row(name, result, timings_ms={"decode": (t1 - t0) * 1e3})
        except (ImageDecodeError, OSError) as exc:
            row = error_row(name, str(exc))
            if log_result:  # batch runs log their errors once, in the parent process
                self.logger.error("%s", exc)
        row["latency_ms"] = (time.perf_counter() - t0) * 1e3
        if log_result:
            ResultsLog(self.results_csv).append(csv_row(row))
        return row

    def log_run(self, what: str, source: str | Path, rows: list[dict], report: dict | None = None) -> None:
        """Log one run to the log file: what ran, on what, with which model, files, errors and accuracy.

        ``report`` is an evaluation report; without one, the accuracy of a
        labelled folder is computed from ``rows`` (none when the files are not all labelled).
        """
        from captcha_solver.report import labelled_summary

        errors = sum(r["status"] == "error" for r in rows)
        summary = report if report is not None else labelled_summary(rows, self.config)
        accuracy = (
            f", exact accuracy {summary['exact_accuracy']:.4f}, character accuracy {summary['character_accuracy']:.4f}"
            f" on {summary['n']} labelled images"
            if summary
            else ""
        )
        self.logger.info(
            "%s: %s with the %s model in %s (routing.reader %s): %d files, %d errors%s; rows in %s",
            what,
            source,
            "+".join(self.readers),
            self.resolved_model_dir(),
            self.config.routing.reader,
            len(rows),
            errors,
            accuracy,
            self.results_csv,
        )

    def predict_dataset(
        self, dataset_dir: str | Path, *, workers: int = 0, progress: bool = True, log_run: bool = True
    ) -> list[dict]:
        """Predict every image of a folder; bad files become error rows, the run goes on.

        Rows are appended to ``results.csv`` as they complete, one per file,
        including files that are not images or sit in nested folders. With
        ``log_run`` the run is summed up in the log file (:meth:`log_run`).
        """
        self._check_loaded()
        images, rejected = list_dataset(dataset_dir, self.config.input)
        results = ResultsLog(self.results_csv)
        rows: list[dict] = []
        for path, reason in rejected:
            row = error_row(str(path), f"{path.name}: {reason}")
            self.logger.error("%s: %s", path, reason)
            results.append(csv_row(row))
            rows.append(row)
        workers = workers or os.cpu_count() or 1
        paths = [str(p) for p in images]
        pool = None
        if workers > 1 and len(paths) >= 8:
            pool = ProcessPoolExecutor(
                max_workers=workers,
                initializer=_init_predict_worker,
                initargs=(str(self.resolved_model_dir()), self.config),
            )
            iterator = pool.map(_predict_in_worker, paths, chunksize=4)
        else:
            iterator = (self.predict(p, log_result=False) for p in paths)
        try:
            for row in _show(iterator, len(paths), "predict", progress):
                if row["status"] == "error":
                    self.logger.error("%s", row["error"])
                results.append(csv_row(row))
                rows.append(row)
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)  # after an error (disk full), stop the rest
        if log_run:
            self.log_run("predict", dataset_dir, rows)
        return rows

    # ------------------------------------------------------------------ train
    def train(
        self, dataset_dir: str | Path, *, reader: str | None = None, progress: bool = True
    ) -> My_CaptchaSolver_Model:
        """Train on a folder of captchas named ``<label>.<ext>`` and publish the model atomically.

        ``reader`` (default ``training.reader``, ``auto``) picks what is built:
        the classical reader, the neural (CNN + CTC) reader, or what the data
        says pays off, fused at prediction time (``auto``), all within
        ``training.budget_minutes``; see
        :func:`captcha_solver.fitting.train_model`. The model is written to
        ``model_dir`` (default ``paths.model_dir``, ``./model``); the model it
        replaces is kept as ``NAME.prev`` (``./model.prev``).

        Raises
        ------
        artifacts.ModelTargetError
            Before any work, if the model folder (or ``NAME.prev``) holds
            anything but a model; nothing is then created or deleted.
        FileNotFoundError, NotADirectoryError, EmptyDatasetError
            If the folder is missing or has no images.
        ValueError
            If fewer than ``training.min_images`` usable labelled images remain.
        verification.TrainingMismatchError
            If the model read back from its folder reads the validation
            captchas worse than training measured (nothing is published).
        """
        from captcha_solver.fitting import train_model

        target = self.resolved_model_dir(for_training=True)
        _, skipped = train_model(
            dataset_dir,
            self.config,
            target,
            logger=self.logger,
            work_dir=self.results_csv.parent,
            reader=reader,
            progress=progress,
        )
        self.model_dir = target
        self.skipped_ = skipped
        self.load()
        return self

    def tune_routing(self, dataset_dir: str | Path, *, progress: bool = True) -> dict:
        """Fit the fusion (weights, temperature, fast-path threshold) on a labelled folder; record it in the manifest.

        For a model with both readers whose fusion should fit captchas it did
        not train on, or one trained before fusion was fitted. The folder
        should hold captchas the model never trained on.

        Raises
        ------
        ValueError
            If the model lacks one of the two readers, or no image could be read.
        """
        self._check_loaded()
        if self.reader_ is None or self.neural_ is None:
            raise ValueError(
                f"{self.resolved_model_dir()}: fusion needs both readers; this model has only one"
            )
        images, rejected = list_dataset(dataset_dir, self.config.input)
        for path, reason in rejected:
            self.logger.warning("skipped %s: %s", path, reason)
        samples = fusion_samples(
            self.reader_, self.neural_, images, config=self.config, policy=self.policy, show=progress
        )
        if not samples:
            raise ValueError(f"{dataset_dir}: no readable labelled captcha to fit the fusion on")
        picked = dict(fit_fusion(samples), dataset=str(dataset_dir))
        self.manifest_ = update_manifest(self.resolved_model_dir(), {"fusion": picked})
        self.logger.info(
            "fusion: classical weight %.2f, temperature %.3f, fast path from %.2f, fitted on %d captchas of %s "
            "(exact %.4f, ECE %.4f)",
            picked["weight_classical"],
            picked["temperature"],
            picked["min_confidence"],
            picked["n"],
            dataset_dir,
            picked["val_exact"],
            picked["ece"],
        )
        return picked

    # --------------------------------------------------------------- evaluate
    def evaluate(self, dataset_dir: str | Path, *, workers: int = 0, progress: bool = True) -> dict:
        """Predict a labelled folder and report accuracy, confusions and glyph ROC AUC.

        See :func:`captcha_solver.report.evaluation_report` for the keys.
        """
        from captcha_solver.report import evaluation_report

        rows = self.predict_dataset(dataset_dir, workers=workers, progress=progress, log_run=False)
        report = evaluation_report(rows, self.reader_, self.config)
        self.log_run("evaluate", dataset_dir, rows, report)
        return report


def _show(iterator, total: int, desc: str, enabled: bool):
    return progress(iterator, total=total, desc=desc, enabled=enabled)
