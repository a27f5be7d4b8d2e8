"""Deciding a training run from the data: survey the labelled captchas, then plan readers and settings."""

from captcha_solver.planning._plan import (
    FROM_DATA,
    MIN_SEGMENTATION_YIELD,
    TrainingPlan,
    plan_training,
    unresolved_settings,
)
from captcha_solver.planning._survey import survey_dataset

__all__ = [
    "FROM_DATA",
    "MIN_SEGMENTATION_YIELD",
    "TrainingPlan",
    "plan_training",
    "survey_dataset",
    "unresolved_settings",
]
