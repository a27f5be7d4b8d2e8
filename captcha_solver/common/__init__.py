"""Small shared utilities: atomic writes, the project logger, the results CSV, text escaping,
worker lifelines and the progress bar.
"""

from captcha_solver.common.atomic import (
    atomic_write_bytes,
    atomic_write_text,
    exchange_paths,
    folder_lock,
    replace_dir,
    staging_dir,
    stale_staging,
)
from captcha_solver.common.escaping import escape_text, neutralise_formula, restore_formula, unescape_text
from captcha_solver.common.lifeline import exit_with_parent
from captcha_solver.common.log import DEFAULT_LOG_FILE, LOGGER_NAME, get_logger, shutdown_logger
from captcha_solver.common.progress import RunProgress, progress
from captcha_solver.common.results import (
    DEFAULT_RESULTS_CSV,
    RESULTS_COLUMNS,
    ResultsLog,
    ResultsWriteError,
    read_results,
)
from captcha_solver.common.scratch import ScratchDir, remove_stale_scratch

__all__ = [
    "DEFAULT_LOG_FILE",
    "DEFAULT_RESULTS_CSV",
    "LOGGER_NAME",
    "RESULTS_COLUMNS",
    "ResultsLog",
    "ResultsWriteError",
    "RunProgress",
    "ScratchDir",
    "atomic_write_bytes",
    "atomic_write_text",
    "escape_text",
    "exchange_paths",
    "exit_with_parent",
    "folder_lock",
    "get_logger",
    "neutralise_formula",
    "progress",
    "read_results",
    "remove_stale_scratch",
    "replace_dir",
    "restore_formula",
    "shutdown_logger",
    "stale_staging",
    "staging_dir",
    "unescape_text",
]
