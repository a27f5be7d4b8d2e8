"""The labelling page's "Train" action, without Gradio: one training at a time, in the background, on
what is labelled, into a new folder; the new model replaces the page's only if it reads the new run's
validation captchas better.

The run: the ``labelled/`` shelf of the labelled folder is linked into ``runs/<stamp>/data`` (a fixed
snapshot, so answers given meanwhile do not change the run's data or its split), the captchas not
labelled yet into ``runs/<stamp>/unlabelled`` (passed as ``unlabelled=`` when the solver's ``train``
takes it), and ``My_CaptchaSolver_Model.train`` builds ``runs/<stamp>/model``. The rule: the run's
validation captchas are the split the run made (``split_dataset`` with the ``training`` settings the
new manifest records); both models read them, and the new one is taken only if its exact accuracy is
strictly higher. Taken, it is published into the folder the page serves (the atomic publication of
:mod:`captcha_solver.artifacts`, the old model kept as ``NAME.prev``) when that is a model folder of the
user's, not the packaged model nor a registry download; the page's model is then swapped.
"""

from __future__ import annotations

import inspect
import logging
import os
import shutil
import threading
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path

from captcha_solver.common import LOGGER_NAME
from captcha_solver.image_io import label_from_path, list_dataset, shelf_name, split_dataset

__all__ = ["LabelTrainer", "compare_on", "link_files"]


def link_files(paths, folder: Path) -> int:
    """Hard-link (else copy) ``paths`` into the new folder ``folder``; how many."""
    folder.mkdir(parents=True, exist_ok=False)
    for path in paths:
        try:
            os.link(path, folder / Path(path).name)
        except OSError:  # another file system, or links not allowed: a copy
            shutil.copy2(path, folder / Path(path).name)
    return len(paths)


def compare_on(val_paths, new_model, current_model) -> tuple[float, float]:
    """Exact accuracy of the new and the current model on labelled files (``<text>.<ext>``)."""

    def exact(model) -> float:
        right = 0
        for path in val_paths:
            try:
                right += model.read(path, name=str(path)).text == label_from_path(path)
            except (OSError, ValueError):  # not read: counts as wrong
                pass
        return right / max(len(val_paths), 1)

    return exact(new_model), exact(current_model)


class _RunLog(logging.Handler):
    """The training thread's log records, the newest few, as the run's progress on the page."""

    def __init__(self, thread_id: int, keep: int = 8):
        super().__init__(logging.INFO)
        self.thread_id = thread_id
        self.lines: deque[str] = deque(maxlen=keep)

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread_id:
            self.lines.append(
                f"{time.strftime('%H:%M:%S', time.localtime(record.created))} {record.getMessage()}"
            )


class LabelTrainer:
    """One training at a time for the labelling page; :meth:`status` is polled by the page."""

    def __init__(self):
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._state = "idle"
        self._message = "No training run yet."
        self._started = 0.0
        self._budget = 0.0
        self._log: _RunLog | None = None
        self.result: dict | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, session, desk) -> str:
        """Start training on ``desk``'s labelled captchas; the message for the page (a refusal says why)."""
        with self._lock:
            if self.running:
                return "Refused: a training run is already going on; one at a time."
            shelf = desk.label_dir / shelf_name(1)
            if not shelf.is_dir():
                return f"Refused: nothing is labelled yet in {shelf}."
            self._state, self._started = "running", time.monotonic()
            self._budget = session.config.training.budget_minutes * 60
            self._message = f"Training on the captchas of {shelf} ..."
            self.result = None
            self._thread = threading.Thread(
                target=self._run, args=(session, desk), name="label-train", daemon=True
            )
            self._thread.start()
        return self._message

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def status(self) -> str:
        """Markdown: the run's state, time used of its budget, and its latest log lines."""
        lines = [f"**Training: {self._state}.** {self._message}"]
        if self._state == "running":
            used = time.monotonic() - self._started
            lines.append(f"{used / 60:.1f} min used of a {self._budget / 60:.0f} min budget.")
        if self._log is not None and self._log.lines:
            lines.append("```\n" + "\n".join(self._log.lines) + "\n```")
        return "\n\n".join(lines)

    # ------------------------------------------------------------------ the run
    def _run(self, session, desk) -> None:
        logger = logging.getLogger(LOGGER_NAME)
        self._log = _RunLog(threading.get_ident())
        logger.addHandler(self._log)
        try:
            self._state, self._message = "done", self._train(session, desk)
        except Exception as exc:  # the page must say why, whatever broke; the log has the trace
            logger.exception("UI training from %s failed", desk.label_dir)
            self._state, self._message = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            logger.removeHandler(self._log)

    def _train(self, session, desk) -> str:
        from captcha_solver.artifacts import load_model_folder, save_model
        from captcha_solver.inference import shipped_model_dir
        from captcha_solver.solver import My_CaptchaSolver_Model
        from captcha_solver.training import labelled_files

        # Solvers made here keep the page's logging (``quiet`` would turn its console log off).
        config = session.config
        run_dir = desk.label_dir / "runs" / datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
        images, _ = list_dataset(desk.label_dir / shelf_name(1), config.input)
        link_files(images, run_dir / "data")
        trainer = My_CaptchaSolver_Model(model_dir=run_dir / "model", config=config)
        extra, note = {}, "train's solver has no unlabelled= keyword: the labelled captchas alone"
        if "unlabelled" in inspect.signature(trainer.train).parameters:
            rest = desk.unlabelled()
            if rest:
                link_files(rest, run_dir / "unlabelled")
                extra["unlabelled"] = run_dir / "unlabelled"
            note = f"{len(images)} labelled + {len(rest)} unlabelled captchas"
        else:
            note = f"{len(images)} labelled captchas ({note})"
        # Training reads one flat folder, where a text names one file: later copies of a text are left out.
        later = sum(len(list_dataset(shelf, config.input)[0]) for shelf in desk.shelves.shelves()[1:])
        if later:
            note += f"; {later} repeated text(s) on the labelled-2... shelves left out"
        self._message = f"Training on {note} into {run_dir / 'model'} ..."
        trainer.train(run_dir / "data", progress=False, **extra)
        # The run's own split, as the manifest records its settings.
        recorded = (trainer.model_.manifest.config or {}).get("training", {})
        fraction = recorded.get("validation_fraction", config.training.validation_fraction)
        seed = recorded.get("seed", config.training.seed)
        labelled, _ = labelled_files(run_dir / "data", config)
        val_paths = split_dataset(labelled, fraction, seed)[1]
        current = session.solver
        new_exact, old_exact = compare_on(val_paths, trainer.model_, current.model_)
        self.result = {"new_exact": new_exact, "current_exact": old_exact, "validation": len(val_paths)}
        figures = (
            f"on the run's {len(val_paths)} validation captchas the new model reads {new_exact:.1%} exactly, "
            f"the page's model {old_exact:.1%}"
        )
        if new_exact <= old_exact:
            self.result["taken"] = False
            return f"Trained on {note}; {figures}: the page keeps its model (the new one stays in {run_dir / 'model'})."
        self.result["taken"] = True
        serving = current.model_.folder
        ours = current.model_ref is None and Path(serving).resolve() != shipped_model_dir().resolve()
        if ours:
            target = current.resolved_model_dir()
            folder, manifest = load_model_folder(run_dir / "model")
            save_model(
                target, {name: folder / name for name in manifest.artifacts}, manifest, logger=current.logger
            )
            solver = My_CaptchaSolver_Model(model_dir=target, config=config).load()
            where = f"published to {target} (the old model kept as {target.name}.prev)"
        else:
            solver = trainer
            where = (
                f"read from {run_dir / 'model'} ({serving} is not a model folder of yours: not overwritten)"
            )
        session._swap(solver)
        current.logger.info("UI training: %s; the new model is %s", figures, where)
        return f"Trained on {note}; {figures}: the page now reads with the new model, {where}."
