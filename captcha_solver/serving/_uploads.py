"""Reading the images out of a request: multipart files, JSON base64 or a raw image body."""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path

from fastapi import Request
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from captcha_solver.serving._errors import ApiError
from captcha_solver.serving.schemas import Base64Image, BatchRequest
from captcha_solver.settings import ServingConfig

__all__ = ["read_uploads"]


def _upload_name(name: str | None, default: str = "upload") -> str:
    # Only the base name, bounded: it goes into results.csv and the log.
    name = Path(str(name or "")).name.strip()[:255]
    return name or default


def _b64decode(text: str, name: str) -> bytes:
    if text.startswith("data:"):
        _, _, text = text.partition(",")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ApiError(400, "bad_base64", f"{name}: image_base64 is not valid base64 ({exc})") from None


def _json_body(raw: bytes, model, what: str):
    if not raw:
        raise ApiError(400, "empty_body", "the request body is empty; send " + what)
    try:
        data = json.loads(raw)
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


async def read_uploads(
    request: Request, serving: ServingConfig, *, batch: bool
) -> list[tuple[str, bytes | ApiError]]:
    """The images of a request as (name, bytes), whatever the content type; a bad image is its ApiError.

    Raises
    ------
    ApiError
        If the request itself is unusable (empty, wrong field, wrong content type).
    """
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    field = "files" if batch else "file"
    if ctype == "multipart/form-data":
        if request.headers.get("content-length") == "0":
            raise ApiError(
                400,
                "empty_body",
                f"the request body is empty; send an image in the multipart field '{field}'",
            )
        form = await request.form(max_files=serving.max_batch if batch else 1, max_fields=16)
        try:
            items = [(k, v) for k, v in form.multi_items()]
            files = [v for k, v in items if k == field]
            if not files:
                got = ", ".join(repr(k) for k, _ in items) or "none"
                raise ApiError(
                    422, "wrong_field", f"expected a multipart file field named '{field}'; got fields: {got}"
                )
            out = []
            for upload in files:
                if not isinstance(upload, UploadFile):
                    raise ApiError(422, "wrong_field", f"the '{field}' field must be a file upload, not text")
                name = _upload_name(upload.filename)
                data = await upload.read(serving.max_upload_bytes + 1)
                if len(data) > serving.max_upload_bytes:
                    out.append(
                        (
                            name,
                            ApiError(
                                413,
                                "image_too_large",
                                f"{name}: upload is over the limit of {serving.max_upload_bytes} bytes "
                                "(serving.max_upload_bytes)",
                            ),
                        )
                    )
                else:
                    out.append((name, data))
            return out
        finally:
            await form.close()
    raw = await request.body()
    if ctype == "application/json":
        if batch:
            body = _json_body(raw, BatchRequest, '{"images": [{"image_base64": ..., "name": ...}, ...]}')
            images = body.images
        else:
            images = [_json_body(raw, Base64Image, '{"image_base64": ..., "name": ...}')]
        out = []
        for i, image in enumerate(images):
            name = _upload_name(image.name, f"image{i}" if batch else "upload")
            try:
                out.append((name, _b64decode(image.image_base64, name)))
            except ApiError as exc:
                out.append((name, exc))
        return out
    if not raw:
        raise ApiError(
            400, "empty_body", f"the request body is empty; send an image in the multipart field '{field}'"
        )
    if not batch and (ctype.startswith("image/") or ctype == "application/octet-stream"):
        return [(_upload_name(request.headers.get("x-file-name")), raw)]
    raise ApiError(
        415,
        "unsupported_content_type",
        f"content type {ctype or 'missing'!r} is not accepted; send multipart/form-data with a '{field}' file field"
        + (
            ", or application/json" if batch else ", application/json with 'image_base64', or an image/* body"
        ),
    )
