"""The training wing: everything that learns, and the run that orders it.

:func:`train_model` is what ``My_CaptchaSolver_Model.train`` and
``python model.py train`` run: survey and plan (:func:`survey_dataset`,
:func:`plan_training`), the classical fit (:mod:`.classical`), the neural
torch code (:mod:`.neural`), the fusion fit (:func:`fit_fusion`), the
read-back check (:func:`runtime_check`), self-training on unlabelled
captchas (:func:`self_train`) and the publication. The
inference wing never imports this package.
"""

from captcha_solver.training._fusion import (
    FusionSample,
    fit_fusion,
    fit_fusion_on,
    fusion_samples,
    middle_of_best,
    record_bearings,
    tune_fusion,
)
from captcha_solver.training._neural_reader import train_neural_reader
from captcha_solver.training._plan import (
    FROM_DATA,
    MIN_SEGMENTATION_YIELD,
    TrainingPlan,
    plan_training,
    unresolved_settings,
)
from captcha_solver.training._pseudo import (
    confused_groups,
    expected_threshold,
    fits_labels,
    pick_threshold,
    unlabelled_files,
)
from captcha_solver.training._readback import TrainingMismatchError, runtime_check, verifier
from captcha_solver.training._run import labelled_files, track, train_model
from captcha_solver.training._self_training import self_train
from captcha_solver.training._spacing import bearing_samples, fit_bearings
from captcha_solver.training._survey import survey_dataset
from captcha_solver.training._views import augmented_views

__all__ = [
    "FROM_DATA",
    "MIN_SEGMENTATION_YIELD",
    "FusionSample",
    "TrainingMismatchError",
    "TrainingPlan",
    "augmented_views",
    "confused_groups",
    "fit_fusion",
    "fit_fusion_on",
    "fits_labels",
    "fusion_samples",
    "labelled_files",
    "middle_of_best",
    "expected_threshold",
    "pick_threshold",
    "plan_training",
    "runtime_check",
    "self_train",
    "survey_dataset",
    "track",
    "bearing_samples",
    "fit_bearings",
    "record_bearings",
    "tune_fusion",
    "train_model",
    "train_neural_reader",
    "unlabelled_files",
    "unresolved_settings",
    "verifier",
]
