"""Training the classical reader: samples, forced alignment, classifier comparison, ONNX export."""

from captcha_solver.training._pipeline import (
    SklearnProba,
    TrainingData,
    TrainOutcome,
    TrainResult,
    collect_samples,
    fit_candidates,
    remove_stale_training_dirs,
    stage_params,
    train_reader,
)
from captcha_solver.training._samples import ImageSamples, image_samples

__all__ = [
    "ImageSamples",
    "SklearnProba",
    "TrainOutcome",
    "TrainResult",
    "TrainingData",
    "collect_samples",
    "fit_candidates",
    "image_samples",
    "remove_stale_training_dirs",
    "stage_params",
    "train_reader",
]
