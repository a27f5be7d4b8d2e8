"""The API key: read from the environment variable the settings name, and checked on the protected routes."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Awaitable, Callable, Mapping

from fastapi import Request

from captcha_solver.serving._errors import ApiError
from captcha_solver.settings import ConfigError, ServingConfig

__all__ = ["API_KEY_HEADER", "DEFAULT_API_KEY_ENV", "api_key_from_env", "key_check"]

#: The request header that carries the key.
API_KEY_HEADER = "X-API-Key"

#: The one key variable whose absence runs the API without a key (with a warning).
DEFAULT_API_KEY_ENV = ServingConfig().api_key_env


def api_key_from_env(
    serving: ServingConfig, environ: Mapping[str, str] | None = None, logger: logging.Logger | None = None
) -> str:
    """The API key clients must send, or "" when the API runs without one.

    A variable named on purpose must hold the key: a misspelt or forgotten
    ``serving.api_key_env`` must not turn authentication off unnoticed. Only
    the default variable may be unset or empty, for a desktop or a first
    deployment, and then the API runs open and says so.

    Parameters
    ----------
    serving : ServingConfig
    environ : mapping, optional
        The environment (default ``os.environ``).
    logger : logging.Logger, optional
        Gets a warning when the API runs without a key.

    Returns
    -------
    key : str

    Raises
    ------
    captcha_solver.settings.ConfigError
        If ``serving.api_key_env`` is not :data:`DEFAULT_API_KEY_ENV` and that
        variable is unset or empty.
    """
    environ = os.environ if environ is None else environ
    name = serving.api_key_env
    key = environ.get(name, "")
    if key:
        return key
    state = "empty" if name in environ else "not set"
    if name != DEFAULT_API_KEY_ENV:
        raise ConfigError(
            f"serving.api_key_env names the environment variable {name}, which is {state}: the API "
            f"would run without authentication. Set {name} to the API key, or set serving.api_key_env "
            f"back to {DEFAULT_API_KEY_ENV} and leave that unset to run without a key",
            key="serving.api_key_env",
        )
    if logger is not None:
        logger.warning(
            "API authentication is OFF: %s is %s, so anyone who can reach the port may use the API. "
            "Set %s to require the key in the X-API-Key header",
            name,
            state,
            name,
        )
    return ""


def key_check(api_key: str | None) -> Callable[[Request], Awaitable[None]]:
    """The dependency that refuses a request without ``api_key`` in :data:`API_KEY_HEADER` (401).

    With no key (None or empty) every request passes.
    """

    async def check_key(request: Request) -> None:
        if not api_key:
            return
        given = request.headers.get(API_KEY_HEADER, "")
        if not secrets.compare_digest(given.encode(), api_key.encode()):
            what = "missing" if not given else "wrong"
            raise ApiError(
                401, "unauthorized", f"{what} API key: send the key in the {API_KEY_HEADER} header"
            )

    return check_key
