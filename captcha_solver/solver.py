"""``My_CaptchaSolver_Model``: the brief's public class, which the CLI, the API and the UI call.

A thin owner of the settings, the loaded model (:class:`captcha_solver.inference.Model`)
and the results log: reading is the model's, training the training wing's
(:mod:`captcha_solver.training`), the evaluation report
:mod:`captcha_solver.evaluation`'s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from captcha_solver.artifacts import ModelNotFoundError
from captcha_solver.common import ResultsLog, get_logger
from captcha_solver.image_io import list_dataset
from captcha_solver.inference import Model, default_model_dir, read_files
from captcha_solver.read_result import ReadResult, csv_row, error_row
from captcha_solver.settings import Config, load_config

__all__ = ["My_CaptchaSolver_Model"]


class My_CaptchaSolver_Model:
    """The captcha solver: a classical and/or a neural reader trained per captcha style.

    ``__init__`` only stores the settings (no model is read): :meth:`load`,
    :meth:`train` or the first :meth:`predict` reads the model folder.

    Parameters
    ----------
    model_dir : path or str, optional
        Folder of the trained model, or a registry reference (``models:/NAME@champion``,
        ``models:/NAME/3``: the version is downloaded into ``registry.cache_dir``). Default:
        ``paths.model_dir`` (``./model``) if it holds a model, else the model shipped inside the package.
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
        from captcha_solver.registry import is_registry_ref

        #: The registry reference given instead of a folder (resolved by the first load), or None.
        self.model_ref = str(model_dir) if model_dir and is_registry_ref(str(model_dir)) else None
        self.model_dir = Path(model_dir) if model_dir and not self.model_ref else None
        #: What answers say read them: ``models:/NAME/VERSION``, or ``folder:<manifest sha256[:12]>``.
        self.model_version = ""
        self.registered_ = None
        self.results_csv = Path(results_csv or self.config.paths.results_csv)
        self.logger = get_logger(
            self.config.paths.log_file,
            level=self.config.logging.level,
            console=self.config.logging.console and not quiet,
        )
        self.model_: Model | None = None

    # ------------------------------------------------------------------ model
    def resolved_model_dir(self, for_training: bool = False) -> Path:
        """The model folder in use: ``model_dir``, else ``paths.model_dir``, else the shipped model.

        Training always writes to ``model_dir`` or ``paths.model_dir``, never
        into the package. A registry reference is resolved here (downloaded once).

        Raises
        ------
        registry.RegistryError
            If the reference names no version, or the version cannot be fetched or is broken.
        """
        if self.model_ref is not None and not for_training and self.model_dir is None:
            from captcha_solver.registry import Registry

            self.model_dir, info = Registry(self.config.registry, logger=self.logger).resolve(self.model_ref)
            self.model_version = info.label
        if self.model_dir is not None:
            return self.model_dir
        return Path(self.config.paths.model_dir) if for_training else default_model_dir(self.config)

    def load(self) -> My_CaptchaSolver_Model:
        """Load the model folder (checking every artifact's sha256) into :attr:`model_`.

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
        self.model_ = Model.load(self.resolved_model_dir(), self.config, logger=self.logger)
        if self.model_ref is None:
            from captcha_solver.registry import folder_label

            self.model_version = folder_label(self.model_.folder)
        self.logger.debug("loaded model from %s (%s)", self.model_.folder, "+".join(self.model_.readers))
        return self

    def follow(self, on_swap, *, on_failure=None, start: bool = True):
        """Follow the registry alias this solver was made with; None for a folder or a fixed version.

        Each new version the alias names is downloaded, loaded and checked into a new solver in a
        background thread (polling every ``registry.poll_seconds``); ``on_swap(new_solver)`` then
        installs it (one reference swap). A broken version is refused: ``on_failure(version, error)``.

        Returns
        -------
        registry.AliasFollower or None
            Started (unless ``start`` is False); call ``.stop()`` when done.
        """
        from captcha_solver.registry import AliasFollower, Registry, parse_ref

        registry = Registry(self.config.registry, logger=self.logger)
        ref = parse_ref(self.model_ref, registry.name) if self.model_ref else None
        if ref is None or ref.alias is None:
            return None
        self._check_loaded()

        def load(folder, info):
            solver = My_CaptchaSolver_Model(folder, self.config, results_csv=self.results_csv)
            solver.load().model_version = info.label
            return solver

        current = int(self.model_version.rpartition("/")[2])
        follower = AliasFollower(
            registry,
            ref,
            current=current,
            load=load,
            swap=on_swap,
            poll_seconds=self.config.registry.poll_seconds,
            logger=self.logger,
            on_failure=on_failure,
        )
        return follower.start() if start else follower

    @property
    def loaded(self) -> bool:
        """True once a model is loaded."""
        return self.model_ is not None

    @property
    def readers(self) -> list[str]:
        """The readers of the loaded model: ``"classical"``, ``"neural"`` or both."""
        return self.model_.readers if self.model_ is not None else []

    @property
    def charset(self) -> str:
        """The characters the loaded model reads (both readers' together)."""
        return self.model_.charset if self.model_ is not None else ""

    def _check_loaded(self) -> Model:
        if self.model_ is None:
            try:
                self.load()
            except (
                ModelNotFoundError
            ) as exc:  # a broken model is not "not trained": load()'s error says what broke
                raise RuntimeError(
                    f"My_CaptchaSolver_Model is not trained yet: {exc}. Call 'train' or load a model from model/."
                ) from exc
        return self.model_

    # ---------------------------------------------------------------- predict
    def read(self, picture: str | Path | bytes | np.ndarray, *, name: str | None = None) -> ReadResult:
        """The full reading of one captcha: text, confidence, per-character confidences, boxes, top-k, reader.

        Nothing is logged or appended to the results.

        Raises
        ------
        image_io.ImageDecodeError
            If the picture cannot be decoded (the message names it and says why).
        """
        return self._check_loaded().read(picture, name=name)

    def predict(self, picture: str | Path | bytes | np.ndarray, *, name: str | None = None) -> str:
        """Read the text of one captcha and append its row to ``results.csv``.

        Parameters
        ----------
        picture : path, bytes or (H, W, 3) uint8 RGB array
        name : str, optional
            Name for the results row (default: the file path).

        Returns
        -------
        text : str
            The predicted text; "" when the picture could not be read (the
            reason is logged and written to the row's ``error``). The full
            reading is :meth:`read`; the row, :meth:`predict_row`.
        """
        return self.predict_row(picture, name=name)["prediction"]

    def predict_row(
        self, picture: str | Path | bytes | np.ndarray, *, name: str | None = None, log_result: bool = True
    ) -> dict:
        """:meth:`predict` as the results row (:func:`captcha_solver.read_result.result_row`); bad input is an error row.

        With ``log_result`` the row is appended to ``results.csv`` and an error is logged.
        """
        model = self._check_loaded()
        if name is None:
            name = _name_of(picture)
        row = model.read_row(picture, name=name)
        if log_result:
            if row["status"] == "error":
                self.logger.error("%s", row["error"])
            ResultsLog(self.results_csv).append(csv_row(row))
        return row

    def log_run(self, what: str, source: str | Path, rows: list[dict], report: dict | None = None) -> None:
        """Log one run to the log file: what ran, on what, with which model, files, errors and accuracy.

        ``report`` is an evaluation report; without one, the accuracy of a
        labelled folder is computed from ``rows`` (none when the files are not all labelled).
        """
        from captcha_solver.evaluation import labelled_summary

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
        for row in read_files(self.model_, images, workers=workers, show=progress):
            if row["status"] == "error":
                self.logger.error("%s", row["error"])
            results.append(csv_row(row))
            rows.append(row)
        if log_run:
            self.log_run("predict", dataset_dir, rows)
        return rows

    # ------------------------------------------------------------------ train
    def train(
        self, dataset_dir: str | Path, *, reader: str | None = None, progress: bool = True, unlabelled=None
    ) -> My_CaptchaSolver_Model:
        """Train on a folder of captchas named ``<label>.<ext>`` and publish the model atomically.

        ``reader`` (default ``training.reader``, ``auto``) picks what is built:
        the classical reader, the neural (CNN + CTC) reader, or what the data
        says pays off, fused at prediction time (``auto``), all within
        ``training.budget_minutes``; see
        :func:`captcha_solver.training.train_model`. The model is written to
        ``model_dir`` (default ``paths.model_dir``, ``./model``); the model it
        replaces is kept as ``NAME.prev`` (``./model.prev``).
        With ``registry.register_on_train`` the published folder is then registered
        as a new version (:func:`captcha_solver.registry.register_trained`, in
        :attr:`registered_`); a failed registration is logged and leaves the model published.
        ``unlabelled`` (default ``training.unlabelled``; empty or None: none) is a folder of
        unlabelled captchas of the same style: the run then self-trains on the ones its model
        reads surely enough (``training.pseudo_label_precision``); the manifest's
        ``self_training`` section records each round.

        Raises
        ------
        artifacts.ModelTargetError
            Before any work, if the model folder (or ``NAME.prev``) holds
            anything but a model; nothing is then created or deleted.
        FileNotFoundError, NotADirectoryError, EmptyDatasetError
            If the folder (or the ``unlabelled`` one) is missing or has no images.
        ValueError
            If fewer than ``training.min_images`` usable labelled images remain, or
            ``training.device`` is ``cuda`` without a GPU (a ``ConfigError``).
        verification.TrainingMismatchError
            If the model read back from its folder reads the validation
            captchas worse than training measured (nothing is published).
        """
        import time

        from captcha_solver.training import train_model

        if self.model_ref is not None:
            raise ValueError(
                f"cannot train into the registry reference {self.model_ref}: train writes a model folder "
                "(--model-dir) and registers it as a new version"
            )
        started = time.time()
        target = self.resolved_model_dir(for_training=True)
        _, skipped = train_model(
            dataset_dir,
            self.config,
            target,
            logger=self.logger,
            work_dir=self.results_csv.parent,
            reader=reader,
            progress=progress,
            unlabelled=unlabelled,
        )
        self.model_dir = target
        self.skipped_ = skipped
        self.load()
        if self.config.registry.register_on_train:
            from captcha_solver.registry import register_trained

            self.registered_ = register_trained(
                self.config, target, self.model_.manifest, logger=self.logger, started=started
            )
        return self

    def tune_fusion(self, dataset_dir: str | Path, *, progress: bool = True) -> dict:
        """Fit the fusion (weights, temperature, fast-path threshold) on a labelled folder; record it in the manifest.

        For a model with both readers whose fusion should fit captchas it did
        not train on, or one trained before fusion was fitted. The folder
        should hold captchas the model never trained on.

        Raises
        ------
        ValueError
            If the model lacks one of the two readers, or no image could be read.
        """
        from captcha_solver.training import tune_fusion

        model = self._check_loaded()
        # The readers stay as loaded: only the manifest (and the policy read from it) changed.
        self.model_ = model.with_manifest(tune_fusion(model, dataset_dir, logger=self.logger, show=progress))
        return self.model_.manifest.fusion.to_dict()

    # --------------------------------------------------------------- evaluate
    def evaluate(self, dataset_dir: str | Path, *, workers: int = 0, progress: bool = True) -> dict:
        """Predict a labelled folder and report accuracy, confusions and glyph ROC AUC.

        See :func:`captcha_solver.evaluation.evaluation_report` for the keys.
        """
        from captcha_solver.evaluation import evaluation_report

        rows = self.predict_dataset(dataset_dir, workers=workers, progress=progress, log_run=False)
        report = evaluation_report(rows, self.model_, self.config)
        self.log_run("evaluate", dataset_dir, rows, report)
        return report


def _name_of(picture) -> str:
    """The results-row name of a picture given without one."""
    if isinstance(picture, (str, Path)):
        return str(picture)
    return "<array>" if isinstance(picture, np.ndarray) else "<bytes>"
