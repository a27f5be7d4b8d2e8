"""``captcha-solver models``: the model registry from the command line (list, show, register, promote, rollback, compare)."""

from captcha_solver.models_cli._commands import models
from captcha_solver.models_cli._compare import Comparison, compare_versions

__all__ = ["Comparison", "compare_versions", "models"]
