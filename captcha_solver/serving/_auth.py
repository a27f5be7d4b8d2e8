"""The API key check of the protected routes (a FastAPI dependency)."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

from fastapi import Request

from captcha_solver.serving._errors import ApiError

__all__ = ["API_KEY_HEADER", "key_check"]

API_KEY_HEADER = "X-API-Key"


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
