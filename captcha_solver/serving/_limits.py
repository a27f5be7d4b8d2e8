"""Request-body size limit enforced while the body streams in, before it is parsed."""

from __future__ import annotations

from collections.abc import Callable

from captcha_solver.serving._errors import ApiError

__all__ = ["BodyLimitMiddleware"]


class BodyLimitMiddleware:
    """Refuse request bodies over a per-path byte limit with 413.

    ``Content-Length`` is checked first, so an honest oversized upload is
    refused without reading it; a chunked or lying body is counted as it
    arrives and the request fails as soon as it crosses the limit. The
    error is raised from ``receive``, inside the app, so the app's
    ``ApiError`` handler answers it as JSON.

    Parameters
    ----------
    app : ASGI app
    limit_for : callable
        ``path -> max bytes`` (None: no limit).
    """

    def __init__(self, app, limit_for: Callable[[str], int | None]):
        self.app = app
        self.limit_for = limit_for

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
            f"request body is over the limit of {limit} bytes for {scope['path']} "
            "(serving.max_upload_bytes, times serving.max_batch for batches)",
        )
        received = 0

        async def limited_receive():
            nonlocal received
            if declared is not None and declared > limit:
                raise too_big
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_big
            return message

        await self.app(scope, limited_receive, send)
