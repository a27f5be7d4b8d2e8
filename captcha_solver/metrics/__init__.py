"""Evaluation metrics of predicted captcha texts and character probabilities (pure functions)."""

from captcha_solver.metrics._calibration import expected_calibration_error, wilson_interval
from captcha_solver.metrics._confusion import confusion_pairs, per_character_accuracy
from captcha_solver.metrics._edit import Alignment, align, edit_distance
from captcha_solver.metrics._roc import UndefinedMetricWarning, macro_roc_auc
from captcha_solver.metrics._strings import cer, character_accuracy, exact_accuracy, summarize

__all__ = [
    "Alignment",
    "UndefinedMetricWarning",
    "align",
    "cer",
    "character_accuracy",
    "confusion_pairs",
    "edit_distance",
    "expected_calibration_error",
    "exact_accuracy",
    "macro_roc_auc",
    "per_character_accuracy",
    "summarize",
    "wilson_interval",
]
