"""The labelling page: name a folder of unlabelled captchas, answer the ones the model is least sure of,
by keyboard, and train on the answers.

Keys, in the answer box (which has focus): **Enter** saves the text in the box (the model's reading, or
what was typed over it: the box's text is selected when a captcha is shown, so typing replaces it),
**Escape** skips the captcha (asked again when the folder is opened anew). Opening a folder, answering
and training follow the records page's access rule (:func:`captcha_solver.ui._access.records_refusal`):
on the desktop anyone may, in a public UI only whoever has the admin token, and never a UI exposed
without ``--public``. The handlers take and return plain values (tested without Gradio);
:func:`build_label_tab` wires them.
"""

from __future__ import annotations

import threading
from pathlib import Path

from captcha_solver.image_io import ImageDecodeError, decode_image
from captcha_solver.ui._access import records_refusal
from captcha_solver.ui._label_desk import LabelError, LabelFolder, default_label_dir
from captcha_solver.ui._label_train import LabelTrainer

__all__ = ["LabelBench", "build_label_tab"]

#: Wait this long for the readings before the page shows progress instead (small folders come at once).
_READ_WAIT_S = 3.0

# Escape in the answer box clicks Skip; installed once per page, when a folder is first opened.
_KEYS_JS = """() => {
  if (window.__captchaLabelKeys) return;
  window.__captchaLabelKeys = true;
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && event.target.closest && event.target.closest('#label-text')) {
      event.preventDefault();
      document.querySelector('#label-skip').click();
    }
  });
}"""
# The answer box gets focus with its text selected: Enter accepts it, typing replaces it.
_FOCUS_JS = """() => {
  const box = document.querySelector('#label-text textarea, #label-text input');
  if (box) { box.focus(); box.select(); }
}"""


class LabelBench:
    """The folders being labelled on this UI (by folder and labelled folder) and its one trainer.

    Handlers return ``(state, image, text, current, counts, reading)``: ``state`` is the browser's
    ``{"key", "name"}``, ``image`` the shown captcha (RGB array) or None, ``text`` the model's reading,
    ``current`` what is shown and why, ``counts`` the done/left line, ``reading`` whether readings are
    still coming (the page then polls :meth:`show`).
    """

    def __init__(self, session):
        self.session = session
        self.desks: dict[tuple[str, str], LabelFolder] = {}
        self.trainer = LabelTrainer()
        self.cache: dict = {}  # readings by file and model version, shared by every opening
        self._lock = threading.Lock()

    def desk(self, state) -> LabelFolder | None:
        key = (state or {}).get("key")
        return self.desks.get(tuple(key)) if key else None

    def open(self, token: str, folder: str, label_dir: str = ""):
        """Open ``folder`` (answers into ``label_dir``, default ``<folder>-labelled``) and show its first captcha."""
        refused = records_refusal(self.session, token)
        if refused:
            return self._empty(refused)
        if not (folder or "").strip():
            return self._empty("Name the folder of unlabelled captchas first.")
        source = Path(folder.strip()).expanduser()
        target = Path(label_dir.strip()).expanduser() if (label_dir or "").strip() else None
        key = (str(source.resolve()), str((target or default_label_dir(source)).resolve()))
        config = self.session.config
        try:
            # Opened anew each time: the folder, the record and the model may have changed.
            desk = LabelFolder(
                source,
                target,
                solver=self.session.solver,
                input_settings=config.input,
                max_glyphs=config.segmentation.max_glyphs,
                cache=self.cache,
            )
        except LabelError as exc:
            return self._empty(f"**Cannot label it:** {exc}")
        with self._lock:
            self.desks[key] = desk
        desk.start_reading()
        desk.wait_reading(_READ_WAIT_S)
        return self.show({"key": list(key), "name": ""})

    def show(self, state, note: str = ""):
        """The captcha to answer now (the least sure one), or the reading progress."""
        desk = self.desk(state)
        if desk is None:
            return self._empty(note or "Open a folder first.")
        counts = desk.counts()
        line = self._counts(desk, counts)
        if not desk.reading_done:
            return (
                state,
                None,
                "",
                f"Reading the captchas: {counts['read']} of {counts['to_read']} ...",
                line,
                True,
            )
        # The captcha the browser shows stays until it is answered or skipped (a refused answer keeps it).
        shown = desk.pending((state or {}).get("name", "")) or desk.next()
        if shown is None:
            bad = desk.unreadable()
            why = "".join(f"\n- `{r.name}`: {r.error}" for r in bad[:20])
            end = "Nothing left to label in this folder" + (
                " (open it again to see the skipped ones)" if counts["skipped"] else ""
            )
            return {**state, "name": ""}, None, "", f"{note}\n\n{end}.{why}".strip(), line, False
        try:
            rgb = decode_image(desk.images[shown.name], limits=desk.input, name=shown.name)
        except (ImageDecodeError, OSError) as exc:  # changed on disk since it was read
            desk.skip(shown.name)
            return self.show(state, f"`{shown.name}` cannot be shown ({exc}); skipped.")
        current = (
            f"`{shown.name}`: the model reads `{shown.text or '(nothing)'}` with confidence "
            f"{shown.confidence:.3f} (least sure first). Enter saves, Escape skips."
        )
        return {**state, "name": shown.name}, rgb, shown.text, f"{note}\n\n{current}".strip(), line, False

    def accept(self, token: str, state, text: str):
        """Save the answer for the captcha shown, then show the next one (a refusal keeps the captcha)."""
        refused = records_refusal(self.session, token)
        desk = self.desk(state)
        if refused or desk is None or not (state or {}).get("name"):
            return self.show(state, refused or "")
        try:
            copy = desk.answer(state["name"], text)
        except LabelError as exc:
            view = list(self.show(state))
            view[2], view[3] = text, f"**{exc}**\n\n{view[3]}"  # the typed text stays, to be corrected
            return tuple(view)
        return self.show(state, f"Saved `{state['name']}` as `{copy.relative_to(desk.label_dir)}`.")

    def skip(self, state):
        """Skip the captcha shown; the next one."""
        desk = self.desk(state)
        if desk is not None and (state or {}).get("name"):
            desk.skip(state["name"])
            return self.show(state, f"Skipped `{state['name']}`.")
        return self.show(state)

    def train(self, token: str, state) -> str:
        """Start the "Train" action on the open folder's answers; the message."""
        refused = records_refusal(self.session, token)
        if refused:
            return refused
        desk = self.desk(state)
        if desk is None:
            return "Open a folder and label some captchas first."
        return self.trainer.start(self.session, desk)

    @staticmethod
    def _counts(desk: LabelFolder, counts: dict) -> str:
        extra = f", {counts['unreadable']} unreadable" if counts["unreadable"] else ""
        return (
            f"**{counts['done']} done, {counts['left']} left**, {counts['skipped']} skipped{extra} "
            f"(of {counts['total']}); answers go to `{desk.label_dir}`"
        )

    @staticmethod
    def _empty(message: str):
        return {}, None, "", message, "", False


def build_label_tab(gr, session) -> LabelBench:
    """The labelling page's components and events (inside a ``gr.Tab``)."""
    bench = LabelBench(session)
    gr.Markdown(
        "Name a folder of unlabelled captchas: the model reads them and shows the one it is least sure of, "
        "with its reading in the box. **Enter** saves the text in the box as a copy `<text>.png` in the "
        "labelled folder (default: `<folder>-labelled` next to it; the originals are never touched), typing "
        "replaces the reading, **Escape** skips. **Train** trains on the answers in the background and keeps "
        "the new model only if it reads the run's validation captchas better."
        + (" Type the admin token first." if session.admin_token else ""),
        elem_id="label-note",
    )
    token = gr.Textbox(
        label="Admin token", type="password", visible=bool(session.admin_token), elem_id="label-token"
    )
    with gr.Row():
        folder = gr.Textbox(label="Folder of unlabelled captchas", scale=3, elem_id="label-folder")
        dest = gr.Textbox(label="Labelled folder (empty: <folder>-labelled)", scale=2, elem_id="label-dest")
        open_button = gr.Button("Open", variant="primary", scale=1, elem_id="label-open")
    counts = gr.Markdown(elem_id="label-counts")
    current = gr.Markdown(elem_id="label-current")
    image = gr.Image(label="Captcha", type="numpy", format="png", interactive=False, elem_id="label-image")
    with gr.Row():
        text = gr.Textbox(
            label="Text (Enter saves, Escape skips)", lines=1, max_lines=1, scale=3, elem_id="label-text"
        )
        save = gr.Button("Save (Enter)", variant="primary", scale=1, elem_id="label-save")
        skip = gr.Button("Skip (Escape)", scale=1, elem_id="label-skip")
    state = gr.State({})
    reading = gr.Timer(1.0, active=False)
    with gr.Row():
        train = gr.Button("Train on the answers", elem_id="label-train")
    train_status = gr.Markdown(elem_id="label-train-status")
    training = gr.Timer(2.0, active=False)

    def view(result):
        new_state, rgb, reading_text, shown, line, waiting = result
        return new_state, rgb, reading_text, shown, line, gr.Timer(active=waiting)

    outputs = [state, image, text, current, counts, reading]
    for event in (open_button.click, folder.submit):
        event(lambda t, f, d: view(bench.open(t, f, d)), [token, folder, dest], outputs).then(
            None, js=_FOCUS_JS
        )
        event(None, js=_KEYS_JS)
    reading.tick(lambda s: view(bench.show(s)), [state], outputs).then(None, js=_FOCUS_JS)
    for event in (text.submit, save.click):
        event(lambda t, s, x: view(bench.accept(t, s, x)), [token, state, text], outputs).then(
            None, js=_FOCUS_JS
        )
    skip.click(lambda s: view(bench.skip(s)), [state], outputs).then(None, js=_FOCUS_JS)

    def start(t, s):
        message = bench.train(t, s)
        shown = (
            message if message.startswith("Refused") or not bench.trainer.running else bench.trainer.status()
        )
        return shown, gr.Timer(active=bench.trainer.running)

    def poll():
        return bench.trainer.status(), gr.Timer(active=bench.trainer.running)

    train.click(start, [token, state], [train_status, training])
    training.tick(poll, None, [train_status, training])
    return bench
