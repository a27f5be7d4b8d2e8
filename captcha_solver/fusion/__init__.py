"""Combining the classical and neural readers' evidence into one reading (pure numpy, reading time).

:func:`ctc_log_likelihood` scores any text under the neural reader;
:func:`fused_scores` and :func:`candidate_probabilities` pick the answer and
its confidence; :class:`Bearings` adds the glyphs' spacing as a third cue
between readings of the same length. The weights are fitted by
:func:`captcha_solver.training.fit_fusion`, the bearings by
:func:`captcha_solver.training.fit_bearings`.
"""

from captcha_solver.fusion._ctc import ctc_log_likelihood
from captcha_solver.fusion._score import FLOOR, candidate_probabilities, fused_scores, keep_classical
from captcha_solver.fusion._spacing import Bearings, relative_spacing

__all__ = [
    "FLOOR",
    "Bearings",
    "candidate_probabilities",
    "ctc_log_likelihood",
    "fused_scores",
    "keep_classical",
    "relative_spacing",
]
