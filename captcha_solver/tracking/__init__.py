"""Experiment tracking: offline Weights & Biases runs that never make training fail."""

from captcha_solver.tracking._run import Run
from captcha_solver.tracking._start import DEFAULT_DIR, MODES, start_run

__all__ = ["DEFAULT_DIR", "MODES", "Run", "start_run"]
