"""The records page: the log (newest first, by level and text), the results CSV (filtered, sorted) and the
captchas the site's feedback kept, each with a download, shown only to those the settings page trusts.

The handlers (``show_*``) take plain values and return plain values, so they are tested without Gradio;
:func:`build_records_tab` wires them to the page.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from captcha_solver.common import RESULTS_COLUMNS, atomic_write_bytes, atomic_write_text
from captcha_solver.records import (
    LOG_LEVELS,
    RecordsError,
    feedback_images,
    filter_results,
    load_results,
    log_records,
    log_text,
    results_csv_bytes,
)
from captcha_solver.ui._access import records_refusal

__all__ = ["LOG_COLUMNS", "build_records_tab", "show_feedback", "show_log", "show_results"]

LOG_COLUMNS = ("timestamp", "level", "module", "message", "detail")
_ALL = "all"


def _problem(exc: RecordsError) -> str:
    # A file not written yet is a normal state, not a failure.
    return f"Nothing to show yet: {exc}." if exc.missing else f"**Cannot show it:** {exc}"


def show_log(
    session, files, token: str, level: str, contains: str
) -> tuple[list[list[str]], str | None, str]:
    """The log's records for the page: (table rows, download file or None, message).

    The table holds the newest ``ui.records_rows`` records that pass the filters; the download
    holds every one that passes, oldest first, as log text (without a filter: a copy of the file,
    so that a large log is not parsed whole).
    """
    refused = records_refusal(session, token)
    if refused:
        return [], None, refused
    path = Path(session.config.paths.log_file)
    level = None if level in ("", _ALL) else level
    filtered = bool(level or contains)
    rows = session.config.ui.records_rows
    target = files.folder("download") / path.name
    try:
        records = log_records(path, level=level, contains=contains or "", limit=None if filtered else rows)
        if not filtered:
            shutil.copyfile(path, target)
    except RecordsError as exc:
        return [], None, _problem(exc)
    except OSError as exc:
        return [], None, f"**Cannot show it:** {path} cannot be read: {exc.strerror or exc}"
    shown = records[:rows]
    if filtered:
        atomic_write_text(target, log_text(records))
        message = f"{len(records)} record(s) of `{path}` match; the newest {len(shown)} are shown."
    else:
        message = f"The newest {len(shown)} record(s) of `{path}`; the download is the whole file."
    return [[getattr(r, c) for c in LOG_COLUMNS] for r in shown], str(target), message


def show_results(
    session, files, token: str, contains: str, status: str, reader: str, sort: str, order: str
) -> tuple[list[list[str]], str | None, str]:
    """The results CSV for the page: (table rows, download file or None, message).

    The download is a results CSV of every matching row, in the chosen order.
    """
    refused = records_refusal(session, token)
    if refused:
        return [], None, refused
    path = Path(session.config.paths.results_csv)
    try:
        rows = filter_results(
            load_results(path),
            contains=contains or "",
            status="" if status in ("", _ALL) else status,
            reader="" if reader in ("", _ALL) else reader,
            sort=sort,
            descending=order != "ascending",
        )
    except RecordsError as exc:
        return [], None, _problem(exc)
    shown = rows[: session.config.ui.records_rows]
    target = files.folder("download") / path.name
    atomic_write_bytes(target, results_csv_bytes(rows))
    message = f"{len(rows)} row(s) of `{path}` match; {len(shown)} are shown, by {sort} {order}."
    return [[row.get(c, "") for c in RESULTS_COLUMNS] for row in shown], str(target), message


def show_feedback(session, files, token: str) -> tuple[list[tuple[str, str]], str]:
    """The captchas the feedback kept, newest first, as (image copy, caption) pairs, and a message."""
    refused = records_refusal(session, token)
    if refused:
        return [], refused
    feedback = getattr(session.config, "feedback", None)
    if feedback is None:
        return [], "This build has no feedback settings."
    folder = Path(feedback.dir)
    note = "" if feedback.keep_images else " (`feedback.keep_images` is off: new answers are not kept)"
    try:
        found = feedback_images(folder, limit=session.config.ui.records_rows)
    except RecordsError as exc:
        return [], _problem(exc)
    if not found:
        return [], f"No kept captcha in `{folder}` yet{note}."
    # Copies in the UI's own folder: Gradio may serve only those, whatever feedback.dir is.
    gallery_dir = files.folder("gallery")
    items = []
    for index, (image, row) in enumerate(found):
        copy = gallery_dir / f"{index:05d}{image.suffix}"
        shutil.copyfile(image, copy)
        verdict = "accepted" if row["accepted"] else "rejected"
        label = f" (true text {row['text']})" if row["text"] else ""
        items.append(
            (str(copy), f"{row['prediction']!s} {verdict}{label}, {row['model_version']}, {row['timestamp']}")
        )
    return items, f"{len(items)} kept captcha(s) from `{folder}`, newest first{note}."


def build_records_tab(gr, session, files) -> None:
    """The records page's components and events (inside a ``gr.Tab``)."""
    gr.Markdown(
        "The log and the results CSV that every reader (CLI, API, UI) writes, as they are on this server. "
        + ("Type the admin token to see them." if session.admin_token else ""),
        elem_id="records-note",
    )
    token = gr.Textbox(
        label="Admin token", type="password", visible=bool(session.admin_token), elem_id="records-token"
    )
    with gr.Tab("Log", id="records-log"):
        with gr.Row():
            level = gr.Dropdown([_ALL, *LOG_LEVELS], value=_ALL, label="Lowest level", elem_id="log-level")
            contains = gr.Textbox(label="Containing (plain text)", elem_id="log-contains")
            show = gr.Button("Show the log", variant="primary", elem_id="log-show")
        message = gr.Markdown(elem_id="log-message")
        table = gr.Dataframe(headers=list(LOG_COLUMNS), interactive=False, wrap=True, elem_id="log-table")
        download = gr.File(
            label="Download (every matching record)", interactive=False, elem_id="log-download"
        )
        show.click(
            lambda t, lv, c: show_log(session, files, t, lv, c),
            [token, level, contains],
            [table, download, message],
        )
    with gr.Tab("Results", id="records-results"):
        with gr.Row():
            text = gr.Textbox(label="File, reading or error containing", elem_id="results-contains")
            status = gr.Dropdown([_ALL, "ok", "error"], value=_ALL, label="Status", elem_id="results-status")
            reader = gr.Dropdown(
                [_ALL, "classical", "neural", "fused"], value=_ALL, label="Reader", allow_custom_value=True
            )
            sort = gr.Dropdown(
                list(RESULTS_COLUMNS), value="timestamp", label="Sort by", elem_id="results-sort"
            )
            order = gr.Radio(["descending", "ascending"], value="descending", label="Order")
        show_rows = gr.Button("Show the results", variant="primary", elem_id="results-show")
        rows_message = gr.Markdown(elem_id="results-message")
        rows = gr.Dataframe(
            headers=list(RESULTS_COLUMNS), interactive=False, wrap=True, elem_id="results-table"
        )
        rows_download = gr.File(
            label="Download (every matching row)", interactive=False, elem_id="results-download"
        )
        show_rows.click(
            lambda *a: show_results(session, files, *a),
            [token, text, status, reader, sort, order],
            [rows, rows_download, rows_message],
        )
    with gr.Tab("Kept captchas", id="records-feedback"):
        show_kept = gr.Button("Show the kept captchas", elem_id="feedback-show")
        kept_message = gr.Markdown(elem_id="feedback-message")
        gallery = gr.Gallery(
            label="Captchas kept from the site's feedback", columns=4, elem_id="feedback-gallery"
        )
        show_kept.click(lambda t: show_feedback(session, files, t), [token], [gallery, kept_message])
