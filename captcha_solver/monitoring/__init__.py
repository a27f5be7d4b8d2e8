"""Watching a model at work: its validation baseline, the drift of live readings, the site's feedback.

Pure numpy (no serving code): the API fills :class:`SlidingWindow` objects and
exports their :func:`drift_score`; the UI reads ``feedback.csv`` with
:func:`read_feedback`.
"""

from captcha_solver.monitoring._baseline import (
    CONFIDENCE_EDGES,
    LENGTH_EDGES,
    Baseline,
    baseline_from,
    histograms,
)
from captcha_solver.monitoring._drift import DRIFT_ALERT, PSI_PSEUDO_COUNT, drift_score, psi
from captcha_solver.monitoring._feedback_log import FEEDBACK_COLUMNS, FEEDBACK_CSV, FeedbackLog, read_feedback
from captcha_solver.monitoring._window import SlidingWindow

__all__ = [
    "CONFIDENCE_EDGES",
    "DRIFT_ALERT",
    "FEEDBACK_COLUMNS",
    "FEEDBACK_CSV",
    "LENGTH_EDGES",
    "PSI_PSEUDO_COUNT",
    "Baseline",
    "FeedbackLog",
    "SlidingWindow",
    "baseline_from",
    "drift_score",
    "histograms",
    "psi",
    "read_feedback",
]
