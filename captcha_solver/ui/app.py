"""The Gradio UI over ``My_CaptchaSolver_Model``: predict (examples, batch, model card), labelling,
records, monitoring and settings pages; the pages are built in their own modules (``ui/_*_page.py``).

Saving settings is allowed on the desktop. In a public deployment
(``--public``, as the container runs it) it needs the admin token from the
environment variable named by ``serving.admin_token_env``; without that
variable the page is read-only, so a public page cannot reconfigure the server.
A UI listening beyond this machine without ``--public`` is read-only too.
Whoever saves, the page cannot change who may use the API or the UI, nor put
files outside the project's data and model folders (:mod:`captcha_solver.ui._guard`), and a
refused save changes nothing: no file, folder or logger. The records and monitoring pages
follow the same rule for reading (:mod:`captcha_solver.ui._access`).
"""

from __future__ import annotations

import dataclasses
import math
import os
import secrets
import threading
from pathlib import Path

from captcha_solver.artifacts import ModelFolderError
from captcha_solver.common import get_logger
from captcha_solver.image_io import ImageDecodeError, decode_image
from captcha_solver.settings import (
    Config,
    ConfigError,
    config_from_dict,
    parse_config_yaml,
    render_config_yaml,
    save_config,
)
from captcha_solver.ui._draw import draw_segmentation
from captcha_solver.ui._examples import make_examples
from captcha_solver.ui._files import UiFiles
from captcha_solver.ui._guard import AttemptLimiter, edit_problem, is_loopback
from captcha_solver.ui._label_page import build_label_tab
from captcha_solver.ui._monitor_page import build_monitor_tab
from captcha_solver.ui._predict_page import build_batch_tab, build_model_tab, build_predict_tab
from captcha_solver.ui._records_page import build_records_tab

__all__ = ["SolverSession", "build_ui", "launch"]

#: Set in the container image: behave as a public deployment (like ``--public``).
PUBLIC_ENV = "CAPTCHA_SOLVER_PUBLIC"


class SolverSession:
    """The model and settings behind the UI, independent of Gradio (so it is testable alone).

    Parameters
    ----------
    config : Config
        Current settings.
    config_path : Path
        Where saved settings go (created on the first save).
    model_dir : path, optional
        Model folder or registry reference (default: ``./model``, else the packaged one); on an
        alias (``models:/NAME@champion``) the session follows it (:attr:`follower`).
    public : bool
        Public deployment: saving needs the admin token, and is refused when none is set.
    host : str
        Address the UI listens on: one that is not loopback makes the page read-only
        unless ``public`` (saving then needs the admin token).
    token_limiter : AttemptLimiter, optional
        Counts wrong admin tokens (default: 5 within 60 s lock saving for 300 s).
    """

    def __init__(
        self,
        config: Config,
        config_path: str | Path,
        *,
        model_dir=None,
        public: bool = False,
        host: str = "127.0.0.1",
        token_limiter: AttemptLimiter | None = None,
    ):
        self.config_path = Path(config_path)
        self.model_dir = model_dir
        self.public = public or os.environ.get(PUBLIC_ENV, "") not in ("", "0", "false")
        self.host = host
        self.token_limiter = token_limiter or AttemptLimiter()
        self._lock = threading.Lock()
        self.solver = self._load(config)
        self.config = config
        # Started on a registry alias: follow it (a new version is loaded aside, then swapped in).
        self.follower = self.solver.follow(self._swap)

    def _swap(self, solver) -> None:
        with self._lock:  # not in the middle of a settings save
            self.solver = solver

    def _load(self, config: Config):
        from captcha_solver.solver import My_CaptchaSolver_Model

        return My_CaptchaSolver_Model(model_dir=self.model_dir, config=config).load()

    def _trial_load(self, config: Config):
        """Load the model for ``config`` with the logging in force.

        Building a solver points the process-wide logger at its log file (creating
        the file's folder); a save that may still be refused must not, so the
        logger follows the new settings only once the save is done.
        """
        now = self.config
        trial = dataclasses.replace(
            config, paths=dataclasses.replace(config.paths, log_file=now.paths.log_file), logging=now.logging
        )
        solver = self._load(trial)
        solver.config = config  # the log settings are read only when a solver is built
        return solver

    @staticmethod
    def _use_logging(config: Config):
        return get_logger(config.paths.log_file, level=config.logging.level, console=config.logging.console)

    # ------------------------------------------------------------- predict
    def predict(self, path: str | None):
        """Read one uploaded file; returns (text, confidence text, picture or None, details markdown)."""
        if not path:
            return "", "", None, "Upload or paste a captcha first."
        solver = self.solver  # one consistent model even if settings are saved meanwhile
        name = Path(path).name
        try:
            rgb = decode_image(path, limits=solver.config.input, name=name)
        except ImageDecodeError as exc:
            solver.logger.warning("UI upload refused: %s", exc)
            return "", "", None, f"**Not read:** {exc}"
        try:
            row = solver.predict_row(rgb, name=name)
        except (ValueError, OSError) as exc:
            if str(solver.results_csv) not in str(exc):
                raise
            # The results file could not be appended to. The error may quote the file's first
            # line: it goes to the server log only, never to the page.
            solver.logger.error("UI prediction of %s not recorded: %s", name, exc)
            return (
                "",
                "",
                None,
                (
                    f"**Not read:** the results file `{solver.results_csv}` cannot be appended to; "
                    "the reason is in the server log."
                ),
            )
        if row["status"] != "ok":
            return "", "", None, f"**Not read:** {row['error']}"
        picture = draw_segmentation(rgb, row["boxes"], row["prediction"], row["char_confidences"])
        lines = ["| # | char | confidence | box (x, y, w, h) |", "|---|---|---|---|"]
        for i, (char, conf, box) in enumerate(zip(row["prediction"], row["char_confidences"], row["boxes"])):
            lines.append(f"| {i + 1} | `{char}` | {conf:.3f} | {', '.join(str(int(v)) for v in box)} |")
        lines.append(f"\nRead in {row['latency_ms']:.1f} ms by the {row['reader']} reader.")
        return row["prediction"], f"{row['confidence']:.3f}", picture, "\n".join(lines)

    # ------------------------------------------------------------ settings
    @property
    def admin_token(self) -> str:
        return os.environ.get(self.config.serving.admin_token_env, "")

    @property
    def exposed(self) -> bool:
        """The UI listens beyond this machine without ``--public``."""
        return not self.public and not is_loopback(self.host)

    @property
    def read_only(self) -> bool:
        return self.exposed or (self.public and not self.admin_token)

    def settings_text(self) -> str:
        """The settings file as shown in the editor (the rendered current config if there is no file yet)."""
        if self.config_path.is_file():
            return self.config_path.read_text(encoding="utf-8")
        return render_config_yaml(self.config)

    def access_note(self) -> str:
        env = self.config.serving.admin_token_env
        if self.exposed:
            return (
                f"Read-only: the UI listens on {self.host}, beyond this computer, without --public. "
                f"Start it with --public (saving then needs the admin token `{env}`) or on 127.0.0.1 to edit settings."
            )
        if self.read_only:
            return f"Read-only: this is a public deployment and `{env}` is not set on the server."
        if self.admin_token:
            return f"Saving needs the admin token (`{env}` on the server)."
        return f"Edits are saved to `{self.config_path}` and the model is reloaded."

    def save_settings(self, text: str, token: str = "") -> tuple[str, str]:
        """Validate and save edited YAML, then reload the model.

        Returns
        -------
        message : str
            "Saved ..." or "Refused: <reason>".
        text : str
            The editor's new content (the saved, commented file; unchanged when refused).
        """
        if self.read_only:
            return f"Refused: {self.access_note()}", text
        if self.admin_token:
            refused = self._check_token(token or "")
            if refused:
                return refused, text
        try:
            # The same parser as the config file's: a key written twice is refused, not last-wins.
            data = parse_config_yaml(text, source=self.config_path.name)
            config = config_from_dict(data, source=self.config_path.name)
        except ConfigError as exc:
            return f"Refused: {exc}", text
        with self._lock:
            problem = edit_problem(self.config, config, config_path=self.config_path)
            if problem:
                return f"Refused: {problem}.", text
            try:
                # Load first: settings that leave no working model are not saved.
                solver = self._trial_load(config)
            except (ModelFolderError, RuntimeError, OSError) as exc:
                return f"Refused: the model does not load with these settings: {exc}", text
            try:
                self._use_logging(config)
                save_config(config, self.config_path)
            except OSError as exc:
                self._use_logging(self.config)
                return f"Refused: cannot write the settings or open the log file: {exc}", text
            self.solver, self.config = solver, config
        solver.logger.info("settings saved to %s from the UI; model reloaded", self.config_path)
        return f"Saved to {self.config_path}; model reloaded.", self.settings_text()

    def _check_token(self, token: str) -> str | None:
        """The refusal for a wrong, missing or too-often-tried admin token, or None if it is right."""
        wait = self.token_limiter.retry_after()
        if wait > 0:
            return (
                f"Refused: too many wrong admin tokens; the admin token is locked for another {math.ceil(wait)} s "
                "(the right token is refused too until then)."
            )
        if secrets.compare_digest(token.encode(), self.admin_token.encode()):
            self.token_limiter.succeeded()
            return None
        # An empty field is a slip, not a guess: it is refused without counting.
        if token and self.token_limiter.failed():
            self.solver.logger.warning(
                "UI: %d wrong admin tokens within %.0f s; admin token locked (settings, records) for %.0f s",
                self.token_limiter.max_failures,
                self.token_limiter.window_s,
                self.token_limiter.lockout_s,
            )
        return "Refused: wrong or missing admin token."


def build_ui(session: SolverSession, files: UiFiles | None = None):
    """The Gradio Blocks app: Predict (one captcha, a batch, the model card), Label, Records, Monitoring,
    Settings.

    ``files`` is the UI's temporary folder (examples, batches, downloads); a new one by default.
    """
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    import gradio as gr

    files = files or UiFiles()
    ui = session.config.ui
    examples = make_examples(files.folder("examples"), ui.examples, ui.examples_seed)
    with gr.Blocks(title="Captcha solver", analytics_enabled=False) as demo:
        gr.Markdown("# Captcha solver")
        with gr.Tab("Predict", id="predict"):
            build_predict_tab(gr, session, examples)
        with gr.Tab("Batch", id="batch"):
            build_batch_tab(gr, session, files)
        with gr.Tab("Model", id="model"):
            build_model_tab(gr, session)
        with gr.Tab("Label", id="label"):
            build_label_tab(gr, session)
        with gr.Tab("Records", id="records"):
            build_records_tab(gr, session, files)
        with gr.Tab("Monitoring", id="monitoring"):
            build_monitor_tab(gr, session)
        with gr.Tab("Settings", id="settings"):
            gr.Markdown(session.access_note(), elem_id="settings-access")
            editor = gr.Code(
                value=session.settings_text,
                language="yaml",
                label=str(session.config_path),
                interactive=not session.read_only,
                elem_id="config-editor",
            )
            token = gr.Textbox(
                label="Admin token", type="password", visible=bool(session.admin_token), elem_id="admin-token"
            )
            save = gr.Button(
                "Save and reload", variant="primary", interactive=not session.read_only, elem_id="save-button"
            )
            status = gr.Markdown(elem_id="settings-status")
            save.click(session.save_settings, inputs=[editor, token], outputs=[status, editor])
    return demo


def launch(demo, *, host: str, port: int, open_browser: bool = False, block: bool = True):
    """Serve the UI; local fonts only (no web-font download) and no telemetry."""
    import gradio as gr

    theme = gr.themes.Default(
        font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"]
    )
    return demo.launch(
        server_name=host,
        server_port=port,
        inbrowser=open_browser,
        theme=theme,
        ssr_mode=False,
        show_error=True,
        prevent_thread_lock=not block,
        max_file_size="5mb",
        quiet=False,
    )
