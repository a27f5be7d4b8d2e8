"""Small shared utilities: atomic writes, the project logger, the results CSV and worker lifelines."""

from common.atomic import atomic_write_bytes, atomic_write_text, replace_dir, staging_dir
from common.lifeline import exit_with_parent
from common.log import DEFAULT_LOG_FILE, LOGGER_NAME, get_logger, shutdown_logger
from common.results import DEFAULT_RESULTS_CSV, RESULTS_COLUMNS, ResultsLog

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
    "replace_dir",
    "shutdown_logger",
    "staging_dir",
]
