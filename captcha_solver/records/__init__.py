"""The records a run leaves, for people to look at: the log, the results CSV and the site's feedback.

Read-only and pure apart from reading the files; the web UI's records and monitoring pages and the
API's admin routes show them through these functions, with the same filters.
"""

from captcha_solver.records._errors import RecordsError
from captcha_solver.records._feedback import feedback_images, load_feedback
from captcha_solver.records._log import LOG_LEVELS, LogRecord, log_records, log_text
from captcha_solver.records._results import (
    NUMERIC_COLUMNS,
    filter_results,
    load_results,
    parse_time,
    results_csv_bytes,
)

__all__ = [
    "LOG_LEVELS",
    "NUMERIC_COLUMNS",
    "LogRecord",
    "RecordsError",
    "feedback_images",
    "filter_results",
    "load_feedback",
    "load_results",
    "log_records",
    "log_text",
    "parse_time",
    "results_csv_bytes",
]
