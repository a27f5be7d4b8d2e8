"""The monitoring page: plots over time from the results CSV and ``feedback.csv`` (no server needed).

Requests per minute, the confidence (rolling median, share below the fast-path threshold), the drift
score of the live confidences and lengths against the loaded model's validation baseline (the API's
``monitoring.window`` sliding window, replayed over the CSV rows) and the site's accept rate.
:func:`monitor_data` is Gradio-free; :func:`build_monitor_tab` wires it to the page.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from captcha_solver.monitoring import DRIFT_ALERT, Baseline
from captcha_solver.records import RecordsError, load_feedback, load_results
from captcha_solver.ui._access import records_refusal
from captcha_solver.ui._series import (
    accept_rate_windows,
    confidence_windows,
    readings_of,
    requests_per_minute,
)

__all__ = ["build_monitor_tab", "monitor_data"]

_EMPTY = {
    "requests": ("time", "per_minute", "status"),
    "confidence": ("time", "value", "series"),
    "drift": ("time", "drift", "series"),
    "accept": ("time", "accept_rate", "version"),
}


def _frame(points: list[dict], kind: str) -> pd.DataFrame:
    frame = pd.DataFrame(points, columns=list(_EMPTY[kind]))
    if len(frame):
        # Plotted in UTC, without the offset Vega cannot read from a Python datetime.
        frame["time"] = pd.to_datetime(frame["time"], utc=True).dt.tz_localize(None)
    return frame


def _baseline(solver) -> tuple[Baseline | None, str]:
    monitoring = getattr(solver.model_.manifest, "monitoring", None)
    data = getattr(monitoring, "baseline", None) if monitoring is not None else None
    if not data:
        return (
            None,
            "the loaded model has no validation baseline (trained before baselines were stored): no drift",
        )
    try:
        return Baseline.from_dict(data), ""
    except ValueError as exc:
        return None, f"the loaded model's baseline is unusable ({exc}): no drift"


def monitor_data(session, token: str) -> tuple[dict[str, pd.DataFrame], str]:
    """The four plots' data and a Markdown summary.

    Returns
    -------
    frames : dict of DataFrame
        ``requests`` (time, per_minute, status), ``confidence`` (time, value, series: median or
        share below the threshold), ``drift`` (time, drift, series: score or alert level) and
        ``accept`` (time, accept_rate, version); empty frames when there is nothing (yet).
    summary : str
        What the data holds, or why a plot is empty; a refusal when the visitor may not see records.
    """
    frames = {kind: _frame([], kind) for kind in _EMPTY}
    refused = records_refusal(session, token)
    if refused:
        return frames, refused
    solver, config = session.solver, session.config
    lines = [
        "Computed from the files on this server; no API or metrics server is needed. "
        "Every reader (CLI, API, UI) appends to the results CSV."
    ]
    results_path = Path(config.paths.results_csv)
    try:
        rows = load_results(results_path)
    except RecordsError as exc:
        rows = []
        lines.append(
            f"- Results: nothing yet: {exc}." if exc.missing else f"- Results: **cannot read**: {exc}"
        )
    if rows:
        lines += _results_plots(frames, rows, solver, config, results_path)
    feedback = getattr(config, "feedback", None)
    if feedback is not None:
        lines.append(_feedback_plot(frames, Path(feedback.dir) / "feedback.csv", config.monitoring.window))
    return frames, "\n".join(lines)


def _results_plots(frames: dict, rows: list[dict], solver, config, path: Path) -> list[str]:
    """Fill the requests, confidence and drift frames; the summary lines."""
    threshold = solver.model_.policy.min_confidence
    readings = readings_of(rows)
    frames["requests"] = _frame(requests_per_minute(rows), "requests")
    baseline, why = _baseline(solver)
    window, min_fill = config.monitoring.window, config.monitoring.min_fill
    points = confidence_windows(
        readings, window=window, min_fill=min_fill, threshold=threshold, baseline=baseline
    )
    conf = [{"time": p["time"], "value": p["median"], "series": "median confidence"} for p in points]
    conf += [{"time": p["time"], "value": p["below"], "series": f"share below {threshold:g}"} for p in points]
    frames["confidence"] = _frame(conf, "confidence")
    scores = [p for p in points if p["drift"] is not None]
    drift = [{"time": p["time"], "drift": p["drift"], "series": "drift score"} for p in scores]
    # The alert level as a flat line over the scored span (its first and last point).
    drift += [
        {"time": p["time"], "drift": DRIFT_ALERT, "series": "alert level"} for p in scores[:1] + scores[-1:]
    ]
    frames["drift"] = _frame(drift, "drift")
    lines = [
        f"- Results: {len(rows)} row(s) in `{path}`, {len(readings)} answered; windows of the last "
        f"{window} answers (`monitoring.window`)."
    ]
    if why:
        lines.append(f"- Drift: {why}.")
    elif not scores:
        lines.append(
            f"- Drift: needs {min_fill} answers in a window (`monitoring.min_fill`); there are {len(readings)}."
        )
    else:
        last = scores[-1]["drift"]
        state = "over" if last > DRIFT_ALERT else "under"
        lines.append(f"- Drift: latest score {last:.3f}, {state} the alert level ({DRIFT_ALERT}).")
    return lines


def _feedback_plot(frames: dict, path: Path, window: int) -> str:
    """Fill the accept-rate frame; the summary line."""
    try:
        verdicts = load_feedback(path)
    except RecordsError as exc:
        return f"- Feedback: **cannot read**: {exc}"
    frames["accept"] = _frame(accept_rate_windows(verdicts, window=window), "accept")
    if not verdicts:
        return f"- Feedback: no verdict yet in `{path}` (the site posts them to the API's /feedback)."
    accepted = sum(1 for v in verdicts if v["accepted"] is True)
    return f"- Feedback: {len(verdicts)} verdict(s) in `{path}`, {accepted / len(verdicts):.1%} accepted."


def build_monitor_tab(gr, session) -> None:
    """The monitoring page's plots and refresh button (inside a ``gr.Tab``)."""
    gr.Markdown(
        "How the model is doing, from the results CSV and the site's feedback on this server "
        "(works without the API or Prometheus). "
        + ("Type the admin token to see it." if session.admin_token else ""),
        elem_id="monitor-note",
    )
    token = gr.Textbox(
        label="Admin token", type="password", visible=bool(session.admin_token), elem_id="monitor-token"
    )
    refresh = gr.Button("Refresh", variant="primary", elem_id="monitor-refresh")
    summary = gr.Markdown(elem_id="monitor-summary")
    with gr.Row():
        requests = gr.LinePlot(
            x="time", y="per_minute", color="status", title="Readings per minute", elem_id="plot-requests"
        )
        confidence = gr.LinePlot(
            x="time", y="value", color="series", title="Confidence", y_lim=[0, 1], elem_id="plot-confidence"
        )
    with gr.Row():
        drift = gr.LinePlot(
            x="time", y="drift", color="series", title="Drift score (PSI)", elem_id="plot-drift"
        )
        accept = gr.LinePlot(
            x="time",
            y="accept_rate",
            color="version",
            title="Accept rate",
            y_lim=[0, 1],
            elem_id="plot-accept",
        )

    def update(typed: str):
        frames, text = monitor_data(session, typed)
        return frames["requests"], frames["confidence"], frames["drift"], frames["accept"], text

    refresh.click(update, [token], [requests, confidence, drift, accept, summary])
