"""Experiment tracking: offline Weights & Biases runs that never make training fail."""

from tracking._run import Run
from tracking._start import DEFAULT_DIR, MODES, start_run

__all__ = ["DEFAULT_DIR", "MODES", "Run", "start_run"]
