"""Training the classical reader: samples, forced alignment, classifier comparison, ONNX export."""

from training._pipeline import (
    SklearnProba,
    TrainingData,
    TrainOutcome,
    TrainResult,
    collect_samples,
    fit_candidates,
    remove_stale_training_dirs,
    split_dataset,
    train_reader,
)
from training._samples import ImageSamples, image_samples

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
    "split_dataset",
    "train_reader",
]
