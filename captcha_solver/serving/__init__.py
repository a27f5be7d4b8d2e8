"""HTTP API of the captcha solver (FastAPI); see :func:`serving.api.create_app`."""

__all__ = ["create_app"]


def create_app(*args, **kwargs):
    """Build the API (see :func:`serving.api.create_app`); imported lazily so ``serving.cli`` stays light."""
    from captcha_solver.serving.api import create_app as _create_app

    return _create_app(*args, **kwargs)
