"""The images of a request, whatever its content type: multipart, JSON (base64) or a raw image body.

JSON is parsed in a worker thread, within a depth and value-count limit
(:mod:`captcha_solver.serving._json`), so that neither a deep nor a large body can stall
the event loop or crash the parser. Base64 is left encoded here: each image
is decoded just before it is read (:meth:`captcha_solver.serving._uploads.UploadReader.check`).
"""

from __future__ import annotations

import json
from pathlib import Path

import anyio
from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from captcha_solver.serving._errors import ApiError
from captcha_solver.serving._json import JsonLimitError, loads_bounded
from captcha_solver.serving.schemas import Base64Image, BatchRequest
from captcha_solver.settings import Config

__all__ = ["MAX_JSON_DEPTH", "read_uploads"]

#: Deepest JSON body accepted; the API's bodies nest three levels (batch -> images -> image).
MAX_JSON_DEPTH = 16
# Values a body may hold beyond what its images need (3 each: object, base64, name), so that a
# few stray fields still get the schema's own message rather than a limit.
_SPARE_VALUES = 64

_SINGLE = '{"image_base64": ..., "name": ...}'
_BATCH = '{"images": [{"image_base64": ..., "name": ...}, ...]}'

#: An image as it comes out of a request: its bytes, its base64 text, or why it was refused.
Payload = bytes | str | ApiError


def upload_name(name: str | None, default: str = "upload") -> str:
    """Only the base name, bounded: it goes into results.csv and the log."""
    name = Path(str(name or "")).name.strip()[:255]
    return name or default


def parse_json(
    raw: bytes, model: type[BaseModel], what: str, *, max_values: int, max_batch: int | None
) -> BaseModel:
    """Parse and validate a JSON body (runs in a worker thread).

    Raises
    ------
    ApiError
        400 empty or invalid JSON (too deep included), 413 a batch with more
        values than ``max_batch`` images can hold, 422 the wrong fields.
    """
    if not raw:
        raise ApiError(400, "empty_body", "the request body is empty; send " + what)
    try:
        data = loads_bounded(raw, max_depth=MAX_JSON_DEPTH, max_values=max_values)
    except JsonLimitError as exc:
        if exc.kind == "depth":
            raise ApiError(400, "invalid_json", f"the body is not usable JSON: {exc}; send {what}") from None
        if max_batch is not None:
            raise ApiError(
                413,
                "batch_too_large",
                f"{exc}, more than a batch of serving.max_batch = {max_batch} images can hold; send {what}",
            ) from None
        raise ApiError(422, "wrong_field", f"expected {what}: {exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON ({exc}); send {what}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        got = f" (got keys: {', '.join(map(repr, data))})" if isinstance(data, dict) else ""
        raise ApiError(422, "wrong_field", f"expected {what}{got}: {problems}") from None


async def _multipart(request: Request, field: str, batch: bool, serving) -> list[tuple[str, Payload]]:
    if request.headers.get("content-length") == "0":
        raise ApiError(
            400, "empty_body", f"the request body is empty; send an image in the multipart field '{field}'"
        )
    # Starlette parses the parts as they stream in, and spools files over 1 MB to disk.
    form = await request.form(max_files=serving.max_batch if batch else 1, max_fields=16)
    try:
        items = list(form.multi_items())
        files = [v for k, v in items if k == field]
        if not files:
            got = ", ".join(repr(k) for k, _ in items) or "none"
            raise ApiError(
                422, "wrong_field", f"expected a multipart file field named '{field}'; got fields: {got}"
            )
        out: list[tuple[str, Payload]] = []
        for upload in files:
            if not isinstance(upload, UploadFile):
                raise ApiError(422, "wrong_field", f"the '{field}' field must be a file upload, not text")
            name = upload_name(upload.filename)
            data = await upload.read(serving.max_upload_bytes + 1)
            if len(data) > serving.max_upload_bytes:
                out.append(
                    (
                        name,
                        ApiError(
                            413,
                            "image_too_large",
                            f"{name}: upload is over the limit of {serving.max_upload_bytes} bytes (serving.max_upload_bytes)",
                        ),
                    )
                )
            else:
                out.append((name, data))
        return out
    finally:
        await form.close()


async def read_uploads(request: Request, config: Config, *, batch: bool) -> list[tuple[str, Payload]]:
    """The images of a request as ``(name, payload)``, in order.

    Parameters
    ----------
    request : Request
    config : Config
    batch : bool
        ``/predict/batch`` (field ``files``, JSON ``images``) or ``/predict``.

    Raises
    ------
    ApiError
        For a body that holds no usable list of images (an image that is
        bad on its own is returned as its ApiError instead).
    """
    serving = config.serving
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    field = "files" if batch else "file"
    if ctype == "multipart/form-data":
        return await _multipart(request, field, batch, serving)
    raw = await request.body()
    if ctype == "application/json":
        what, model = (_BATCH, BatchRequest) if batch else (_SINGLE, Base64Image)
        max_batch = serving.max_batch if batch else None
        max_values = 3 * (max_batch or 1) + 2 + _SPARE_VALUES
        # In anyio's default thread pool, not queued behind the reads: parsing is bounded (by the
        # body limit and max_values), and a bad body is answered at once even under load.
        body = await anyio.to_thread.run_sync(
            lambda: parse_json(raw, model, what, max_values=max_values, max_batch=max_batch)
        )
        images = body.images if batch else [body]
        return [
            (upload_name(image.name, f"image{i}" if batch else "upload"), image.image_base64)
            for i, image in enumerate(images)
        ]
    if not raw:
        raise ApiError(
            400, "empty_body", f"the request body is empty; send an image in the multipart field '{field}'"
        )
    if not batch and (ctype.startswith("image/") or ctype == "application/octet-stream"):
        return [(upload_name(request.headers.get("x-file-name")), raw)]
    raise ApiError(
        415,
        "unsupported_content_type",
        f"content type {ctype or 'missing'!r} is not accepted; send multipart/form-data with a '{field}' file field"
        + (
            ", or application/json" if batch else ", application/json with 'image_base64', or an image/* body"
        ),
    )
