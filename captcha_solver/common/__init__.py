"""Small shared utilities: atomic writes, the project logger, the results CSV, worker lifelines and the progress bar."""

from captcha_solver.common.atomic import atomic_write_bytes, atomic_write_text, replace_dir, staging_dir
from captcha_solver.common.lifeline import exit_with_parent
from captcha_solver.common.progress import progress
from captcha_solver.common.log import DEFAULT_LOG_FILE, LOGGER_NAME, get_logger, shutdown_logger
from captcha_solver.common.results import DEFAULT_RESULTS_CSV, RESULTS_COLUMNS, ResultsLog

__all__ = [
    "DEFAULT_LOG_FILE",
    "DEFAULT_RESULTS_CSV",
    "LOGGER_NAME",
    "RESULTS_COLUMNS",
    "ResultsLog",
    "atomic_write_bytes",
    "atomic_write_text",
    "exit_with_parent",
    "get_logger",
    "progress",
    "replace_dir",
    "shutdown_logger",
    "staging_dir",
]
