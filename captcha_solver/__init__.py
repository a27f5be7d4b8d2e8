"""captcha_solver: a text-captcha solver (classical and neural readers on ONNX).

The library's entry point is :class:`My_CaptchaSolver_Model`
(:mod:`captcha_solver.solver`); the command line is
:mod:`captcha_solver.cli`, the HTTP API :mod:`captcha_solver.serving` and the
web UI :mod:`captcha_solver.ui`. The image stages ``segmentation`` and
``features`` are top-level packages of the same distribution.
"""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

__all__ = ["My_CaptchaSolver_Model", "__version__"]

try:
    #: The installed distribution's version (``pip install`` or ``pip install -e``).
    __version__ = _version("captcha-solver")
except PackageNotFoundError:  # a checkout that was never installed
    __version__ = "0+unknown"


def __getattr__(name: str):
    # Lazy: importing a subpackage (captcha_solver.common) must not load the solver and its readers.
    if name == "My_CaptchaSolver_Model":
        from captcha_solver.solver import My_CaptchaSolver_Model

        return My_CaptchaSolver_Model
    raise AttributeError(f"module 'captcha_solver' has no attribute {name!r}")
