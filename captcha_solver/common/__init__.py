"""Small shared utilities: atomic writes, the project logger, the results CSV, text escaping,
worker lifelines and the progress bar.
"""

from captcha_solver.common.atomic import atomic_write_bytes, atomic_write_text, replace_dir, staging_dir
from captcha_solver.common.escaping import escape_text, neutralise_formula, restore_formula, unescape_text
from captcha_solver.common.lifeline import exit_with_parent
from captcha_solver.common.log import DEFAULT_LOG_FILE, LOGGER_NAME, get_logger, shutdown_logger
from captcha_solver.common.progress import progress
from captcha_solver.common.results import (
    DEFAULT_RESULTS_CSV,
    RESULTS_COLUMNS,
    ResultsLog,
    ResultsWriteError,
    read_results,
)

__all__ = [
    "DEFAULT_LOG_FILE",
    "DEFAULT_RESULTS_CSV",
    "LOGGER_NAME",
    "RESULTS_COLUMNS",
    "ResultsLog",
    "ResultsWriteError",
    "atomic_write_bytes",
    "atomic_write_text",
    "escape_text",
    "exit_with_parent",
    "get_logger",
    "neutralise_formula",
    "progress",
    "read_results",
    "replace_dir",
    "restore_formula",
    "shutdown_logger",
    "staging_dir",
    "unescape_text",
]
