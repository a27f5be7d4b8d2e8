"""Request bodies: a size limit enforced while they stream in, and memory reserved before they are read."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from captcha_solver.serving._budget import MemoryBudget
from captcha_solver.serving._errors import ApiError

__all__ = ["BODY_FACTOR", "DRAIN_BYTES", "BodyLimit", "BodyLimitMiddleware"]

#: After a 413, uvicorn reads and drops the rest of the body, so that a client that sends its
#: whole body before reading (most do) gets the answer rather than a reset. A body declared
#: larger than the limit by more than this is not drained: the connection is closed instead.
DRAIN_BYTES = 64 * 1024 * 1024
#: Memory a body can take per byte while it is handled: the bytes received, the text decoded
#: from them and the strings parsed out of it (JSON base64), before each image is decoded.
BODY_FACTOR = 3


class BodyLimit(NamedTuple):
    """The most bytes a path's request body may hold, and the settings that set it (for the 413)."""

    max_bytes: int
    settings: str


class BodyLimitMiddleware:
    """Refuse request bodies over a per-path byte limit with 413, and hold memory for them.

    ``Content-Length`` is checked first, so an honest oversized upload is
    refused without reading it; a chunked or lying body is counted as it
    arrives and the request fails as soon as it crosses the limit. Before
    the first byte is read, ``BODY_FACTOR`` times the declared length (the
    limit if none is declared) is reserved from ``budget`` and held until
    the answer is sent: bodies in flight cannot take more memory than the
    budget, however many clients send at once. The errors are raised from
    ``receive``, inside the app, so the app's ``ApiError`` handler answers
    them as JSON; a request that never reads its body reserves nothing.

    Parameters
    ----------
    app : ASGI app
    limit_for : callable
        ``path -> BodyLimit`` (None: no limit, no reservation).
    budget : MemoryBudget
    """

    def __init__(self, app, limit_for: Callable[[str], BodyLimit | None], budget: MemoryBudget):
        self.app = app
        self.limit_for = limit_for
        self.budget = budget

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.limit_for(scope["path"])
        if limit is None:
            return await self.app(scope, receive, send)
        declared = None
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = None
        too_big = ApiError(
            413,
            "request_too_large",
            f"request body is {'' if declared is None else f'{declared} bytes, '}over the limit of "
            f"{limit.max_bytes} bytes for {scope['path']} ({limit.settings})",
        )
        received = 0
        reserved: int | None = None
        close = False

        async def limited_receive():
            nonlocal received, reserved, close
            if declared is not None and declared > limit.max_bytes:
                close = declared > limit.max_bytes + DRAIN_BYTES
                raise too_big
            if reserved is None:
                expected = limit.max_bytes if declared is None else declared
                reserved = await self.budget.acquire(
                    expected * BODY_FACTOR, f"request body for {scope['path']}"
                )
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit.max_bytes:
                    raise ApiError(
                        413,
                        "request_too_large",
                        f"request body is over the limit of {limit.max_bytes} bytes for {scope['path']} "
                        f"({limit.settings}); refused after {received} bytes",
                    )
            return message

        async def closing_send(message):
            if close and message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), (b"connection", b"close")]}
            await send(message)

        try:
            await self.app(scope, limited_receive, closing_send)
        finally:
            if reserved is not None:
                self.budget.release(reserved)
