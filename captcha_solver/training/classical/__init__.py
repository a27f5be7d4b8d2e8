"""Training the classical reader: glyph samples, forced alignment, classifier comparison, ONNX export."""

from captcha_solver.training.classical._estimators import CANDIDATES, fit_estimator, make_estimator
from captcha_solver.training.classical._export import export_onnx
from captcha_solver.training.classical._pipeline import (
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
from captcha_solver.training.classical._samples import ImageSamples, image_samples

__all__ = [
    "CANDIDATES",
    "export_onnx",
    "fit_estimator",
    "make_estimator",
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
