"""The predict page for a newcomer: one captcha (upload, paste or click an example), a batch of files
or a zip (a table and a CSV download), and the card of the loaded model.

:func:`run_batch` and :func:`card_text` are Gradio-free; the ``build_*`` functions wire them to the page.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from captcha_solver.common import ResultsLog, atomic_write_bytes
from captcha_solver.read_result import csv_row
from captcha_solver.ui._batch import TABLE_COLUMNS, BatchLimits, gather_batch, read_batch, table_csv
from captcha_solver.ui._card import model_card

__all__ = ["build_batch_tab", "build_model_tab", "build_predict_tab", "card_text", "run_batch"]


def run_batch(session, files, uploads) -> tuple[list[list[str]], str | None, str]:
    """Read uploaded files and zips: (table rows, CSV download or None, summary).

    Every reading is appended to the results CSV, as a single prediction's is. A zip is expanded
    into a folder of the UI's own (:func:`ui._batch.gather_batch`), removed once read.
    """
    paths = [str(p) for p in (uploads or []) if p]
    if not paths:
        return [], None, "Upload captcha images or a zip of them first."
    solver = session.solver  # one model for the whole batch, even if settings are saved meanwhile
    workdir = files.folder("batch")
    try:
        entries = gather_batch(paths, BatchLimits.from_config(solver.config), workdir)
        table, readings = read_batch(
            entries, lambda path, name: solver.predict_row(path, name=name, log_result=False)
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    recorded = ""
    for row in readings:
        if row["status"] == "error":
            solver.logger.error("%s", row["error"])
    try:
        ResultsLog(solver.results_csv).append_many(csv_row(row) for row in readings)
        solver.log_run("ui batch", f"{len(paths)} uploaded file(s)", readings)
    except (ValueError, OSError) as exc:
        # The reason may quote the file's first line: it goes to the server log only.
        solver.logger.error("UI batch of %d file(s) not recorded: %s", len(readings), exc)
        recorded = (
            f" The readings could not be appended to `{solver.results_csv}`; the reason is in the server log."
        )
    target = files.folder("download") / "batch-readings.csv"
    atomic_write_bytes(target, table_csv(table))
    ok = sum(row["status"] == "ok" for row in table)
    summary = f"{len(table)} file(s): {ok} read, {len(table) - ok} not read (see the error column).{recorded}"
    return [[row[c] for c in TABLE_COLUMNS] for row in table], str(target), summary


def card_text(session) -> str:
    """The model card of the model the session reads with now (it may have been swapped since the page loaded)."""
    solver = session.solver
    model = solver.model_
    return model_card(
        model.manifest.to_dict(),
        folder=model.folder,
        readers=list(model.readers),
        version=getattr(solver, "model_version", "") or None,
    )


def build_predict_tab(gr, session, examples: list[tuple[Path, str]]) -> None:
    """One captcha: upload, paste or click an example; the answer, confidence and segmentation."""
    with gr.Row():
        with gr.Column():
            # type="filepath" with no image_mode: Gradio hands over the uploaded file
            # untouched, so it is decoded by image_io like everywhere else.
            image = gr.Image(
                label="Captcha (upload or paste)",
                type="filepath",
                sources=["upload", "clipboard"],
                format="png",
                elem_id="captcha-input",
            )
            button = gr.Button("Read", variant="primary", elem_id="read-button")
        with gr.Column():
            answer = gr.Textbox(label="Answer", interactive=False, elem_id="answer")
            confidence = gr.Textbox(label="Confidence", interactive=False, elem_id="confidence")
    picture = gr.Image(
        label="Segmentation", type="numpy", format="png", interactive=False, elem_id="segmentation"
    )
    details = gr.Markdown(elem_id="details")
    outputs = [answer, confidence, picture, details]
    if examples:
        gr.Examples(
            examples=[[str(path)] for path, _ in examples],
            inputs=image,
            outputs=outputs,
            fn=session.predict,
            run_on_click=True,
            cache_examples=False,
            label="No captcha at hand? Click one that the project's generator drew.",
            elem_id="examples",
        )
    button.click(session.predict, inputs=image, outputs=outputs)
    image.upload(session.predict, inputs=image, outputs=outputs)


def build_batch_tab(gr, session, files) -> None:
    """Many files or a zip: a table of readings and its CSV."""
    ui = session.config.ui
    gr.Markdown(
        f"Upload captcha images, or zip files of them: at most {ui.batch_max_files} images, each up to "
        f"{ui.batch_max_file_bytes:,} bytes (`ui.batch_*` in config.yaml). A file that cannot be read gets "
        "a row saying why; the others are read all the same.",
        elem_id="batch-note",
    )
    uploads = gr.File(label="Images or zips", file_count="multiple", type="filepath", elem_id="batch-input")
    button = gr.Button("Read them all", variant="primary", elem_id="batch-button")
    summary = gr.Markdown(elem_id="batch-summary")
    table = gr.Dataframe(headers=list(TABLE_COLUMNS), interactive=False, wrap=True, elem_id="batch-table")
    download = gr.File(label="Readings as CSV", interactive=False, elem_id="batch-download")
    button.click(lambda up: run_batch(session, files, up), [uploads], [table, download, summary])


def build_model_tab(gr, session) -> None:
    """The card of the loaded model, rendered again on each page load and on demand."""
    card = gr.Markdown(lambda: card_text(session), elem_id="model-card")
    gr.Button("Refresh", elem_id="model-refresh").click(lambda: card_text(session), None, card)
