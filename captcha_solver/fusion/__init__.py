"""Combining the classical and neural readers' evidence into one reading (pure numpy).

:func:`ctc_log_likelihood` scores any text under the neural reader;
:func:`fused_scores` and :func:`candidate_probabilities` pick the answer and
its confidence; :func:`fit_fusion` fits the weights on validation captchas.
"""

from captcha_solver.fusion._ctc import ctc_log_likelihood
from captcha_solver.fusion._fit import (
    FLOOR,
    FusionSample,
    candidate_probabilities,
    fit_fusion,
    fused_scores,
    keep_classical,
    middle_of_best,
)

__all__ = [
    "FLOOR",
    "FusionSample",
    "candidate_probabilities",
    "ctc_log_likelihood",
    "fit_fusion",
    "fused_scores",
    "keep_classical",
    "middle_of_best",
]
