"""The HTTP API: a thin FastAPI shell around ``My_CaptchaSolver_Model``.

Endpoints: ``POST /predict`` (multipart ``file``, JSON ``image_base64`` or a
raw ``image/*`` body), ``POST /predict/batch``, ``GET /health``, ``GET /model``
(the manifest) and ``GET /metrics`` (Prometheus). Every error is a JSON body
``{"error": code, "detail": message}``; client mistakes are 4xx, never 500.

Run it with ``python model.py serve`` or
``uvicorn --factory serving.api:create_app``.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

import anyio
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from common import ResultsLog
from image_io import ImageDecodeError, decode_image
from serving._config import api_key_from_env
from serving._errors import ApiError, decode_error
from serving._limits import BodyLimitMiddleware
from serving._metrics import CONTENT_TYPE_LATEST, Metrics
from serving.schemas import (
    Base64Image,
    BatchRequest,
    BatchResponse,
    ErrorResponse,
    HealthResponse,
    PredictResponse,
)
from settings import Config, load_config

__all__ = ["API_KEY_HEADER", "create_app"]

API_KEY_HEADER = "X-API-Key"
# Multipart framing and JSON/base64 (4/3 of the bytes) on top of the image itself.
_ENVELOPE_BYTES = 16 * 1024

_ERRORS = {status: {"model": ErrorResponse} for status in (400, 401, 413, 415, 422)}


class _Solver:
    """The loaded model, shared by all requests (``predict`` is thread-safe)."""

    def __init__(self, model_dir, config: Config):
        from model import My_CaptchaSolver_Model

        self.model = My_CaptchaSolver_Model(model_dir=model_dir, config=config).load()
        self.config = config
        self.results = ResultsLog(self.model.results_csv)

    def read(self, data: bytes, name: str) -> dict:
        """Decode and read one upload; raise ApiError (after logging a results row) if it is not a usable image."""
        cfg = self.config
        started = time.perf_counter()
        try:
            if len(data) > cfg.serving.max_upload_bytes:
                raise ImageDecodeError(
                    name, f"upload is {len(data)} bytes, over the limit of {cfg.serving.max_upload_bytes} "
                    "(serving.max_upload_bytes)"
                )
            rgb = decode_image(
                data,
                max_pixels=cfg.input.max_pixels,
                max_bytes=min(cfg.input.max_bytes, cfg.serving.max_upload_bytes),
                name=name,
            )
        except ImageDecodeError as exc:
            error = decode_error(exc)
            self.model.logger.warning("refused upload %s (%d): %s", name, error.status, exc)
            self.results.append(
                {"file": name, "prediction": "", "confidence": 0.0, "reader": "classical",
                 "latency_ms": (time.perf_counter() - started) * 1e3, "status": "error", "error": str(exc)}
            )
            raise error from None
        row = self.model.predict(rgb, name=name)
        row["latency_ms"] = (time.perf_counter() - started) * 1e3
        self.model.logger.info(
            "predict %s: %r (confidence %.3f, %s) in %.1f ms",
            name, row["prediction"], row["confidence"], row["status"], row["latency_ms"],
        )
        return _response(row)


def _response(row: dict) -> dict:
    """The library's row as plain JSON types (boxes may hold numpy integers)."""
    return {
        "name": row["file"],
        "text": row["prediction"],
        "confidence": float(row["confidence"]),
        "char_confidences": [float(c) for c in row["char_confidences"]],
        "boxes": [[int(v) for v in box] for box in row.get("boxes", [])],
        "reader": row["reader"],
        "status": row["status"],
        "error": row["error"],
        "latency_ms": round(float(row["latency_ms"]), 3),
    }


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


class _MetricsMiddleware:
    """Count every answer by route template and status, and time it."""

    def __init__(self, app, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        status = {"code": 500}
        started = time.perf_counter()

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.metrics.in_flight.dec()
            route = scope.get("route")
            # The route template, not the raw path: unknown paths must not grow the label set.
            label = getattr(route, "path", "unmatched")
            self.metrics.requests.labels(label, scope["method"], str(status["code"])).inc()
            self.metrics.latency.labels(label).observe(time.perf_counter() - started)


def create_app(model_dir: str | Path | None = None, config: Config | str | Path | None = None) -> FastAPI:
    """Build the API around a loaded model.

    Parameters
    ----------
    model_dir : path, optional
        Model folder (default: ``./model`` if it holds a model, else the packaged one).
    config : Config or path, optional
        Settings or a ``config.yaml`` path (default: ``./config.yaml``, else the packaged one).

    Returns
    -------
    app : FastAPI

    Raises
    ------
    artifacts.ModelFolderError
        If the model folder is missing or fails its checks (the server does not start half-ready).
    settings.ConfigError
        If the config file is invalid, or ``serving.api_key_env`` names a variable
        that is unset or empty (see :func:`serving._config.api_key_from_env`).
    """
    cfg = config if isinstance(config, Config) else load_config(config)
    solver = _Solver(model_dir, cfg)
    metrics = Metrics()
    metrics.model_loaded.set(1)
    serving = cfg.serving
    api_key = api_key_from_env(serving, logger=solver.model.logger)
    # More threads than cores only adds contention; a few extra hide I/O and the GIL hand-offs.
    limiter = anyio.CapacityLimiter(max(2, (os.cpu_count() or 1) + 2))
    single_limit = serving.max_upload_bytes * 4 // 3 + _ENVELOPE_BYTES
    batch_limit = single_limit * serving.max_batch

    app = FastAPI(
        title="Captcha solver",
        version=str(solver.model.manifest_.get("versions", {}).get("captcha-solver", "0.1.0")),
        description=(
            "Reads the text of captchas. Send an image as multipart (`file` field), as JSON "
            "(`image_base64`) or as a raw `image/*` body (name it with an `X-File-Name` header). "
            "Every prediction is appended to results.csv. "
            + (f"Send the API key in the `{API_KEY_HEADER}` header." if api_key else "No API key is required.")
        ),
    )
    app.state.solver = solver
    app.state.metrics = metrics

    async def check_key(request: Request) -> None:
        if not api_key:
            return
        given = request.headers.get(API_KEY_HEADER, "")
        if not secrets.compare_digest(given.encode(), api_key.encode()):
            what = "missing" if not given else "wrong"
            raise ApiError(401, "unauthorized", f"{what} API key: send the key in the {API_KEY_HEADER} header")

    def count(error: ApiError, route: str) -> None:
        metrics.errors.labels(route, error.code).inc()

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        route = getattr(request.scope.get("route"), "path", "unmatched")
        count(exc, route)
        headers = {"WWW-Authenticate": API_KEY_HEADER} if exc.status == 401 else None
        return JSONResponse(exc.body(), status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        return await _api_error(request, ApiError(422, "invalid_request", str(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        codes = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}
        return await _api_error(request, ApiError(exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail)))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception):
        solver.model.logger.exception("unexpected error on %s", request.url.path)
        return JSONResponse({"error": "internal_error", "detail": f"{type(exc).__name__}: {exc}"}, status_code=500)

    async def uploads(request: Request, *, batch: bool) -> list[tuple[str, bytes | ApiError]]:
        """The images of a request as (name, bytes), whatever the content type."""
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        field = "files" if batch else "file"
        if ctype == "multipart/form-data":
            if request.headers.get("content-length") == "0":
                raise ApiError(400, "empty_body", f"the request body is empty; send an image in the multipart field '{field}'")
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
                        out.append((name, ApiError(
                            413, "image_too_large",
                            f"{name}: upload is over the limit of {serving.max_upload_bytes} bytes (serving.max_upload_bytes)",
                        )))
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
            raise ApiError(400, "empty_body", f"the request body is empty; send an image in the multipart field '{field}'")
        if not batch and (ctype.startswith("image/") or ctype == "application/octet-stream"):
            return [(_upload_name(request.headers.get("x-file-name")), raw)]
        raise ApiError(
            415, "unsupported_content_type",
            f"content type {ctype or 'missing'!r} is not accepted; send multipart/form-data with a '{field}' file field"
            + (", or application/json" if batch else ", application/json with 'image_base64', or an image/* body"),
        )

    async def read(name: str, data: bytes) -> dict:
        return await anyio.to_thread.run_sync(solver.read, data, name, limiter=limiter)

    def record(result: dict) -> dict:
        metrics.predictions.labels(result["status"]).inc()
        return result

    body_doc = {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}, "required": ["file"]}
            },
            "application/json": {"schema": {"$ref": "#/components/schemas/Base64Image"}},
            "image/png": {"schema": {"type": "string", "format": "binary"}},
        },
    }

    @app.post(
        "/predict", response_model=PredictResponse, responses=_ERRORS, dependencies=[Depends(check_key)],
        openapi_extra={"requestBody": body_doc}, summary="Read one captcha",
    )
    async def predict(request: Request):
        """Read the text of one captcha image. Each call appends one row to results.csv."""
        ((name, data),) = await uploads(request, batch=False)
        if isinstance(data, ApiError):
            raise data
        return record(await read(name, data))

    batch_doc = {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}},
                    "required": ["files"],
                }
            },
            "application/json": {"schema": {"$ref": "#/components/schemas/BatchRequest"}},
        },
    }

    @app.post(
        "/predict/batch", response_model=BatchResponse, responses=_ERRORS, dependencies=[Depends(check_key)],
        openapi_extra={"requestBody": batch_doc}, summary="Read several captchas",
    )
    async def predict_batch(request: Request):
        """Read up to serving.max_batch images; a bad image fails alone (its http_status says how)."""
        started = time.perf_counter()
        items = await uploads(request, batch=True)
        if len(items) > serving.max_batch:
            raise ApiError(
                413, "batch_too_large", f"{len(items)} images in one batch, over serving.max_batch = {serving.max_batch}"
            )
        results: list[dict[str, Any]] = []
        for name, data in items:
            try:
                if isinstance(data, ApiError):
                    raise data
                item = record(await read(name, data))
                item.update(http_status=200, error_code="")
            except ApiError as exc:
                count(exc, "/predict/batch")
                metrics.predictions.labels("error").inc()
                item = {"name": name, "text": "", "confidence": 0.0, "char_confidences": [], "boxes": [],
                        "reader": "classical", "status": "error", "error": exc.detail, "latency_ms": 0.0,
                        "http_status": exc.status, "error_code": exc.code}
            results.append(item)
        return {"results": results, "latency_ms": round((time.perf_counter() - started) * 1e3, 3)}

    @app.get("/health", response_model=HealthResponse, summary="Liveness and readiness")
    async def health():
        model = solver.model
        return {
            "status": "ok" if model.reader_ is not None else "unavailable",
            "model_loaded": model.reader_ is not None,
            "model_dir": str(model._model_dir()),
            "charset_size": len(model.manifest_.get("charset", "")),
        }

    @app.get("/model", dependencies=[Depends(check_key)], responses={401: {"model": ErrorResponse}}, summary="The model manifest")
    async def manifest() -> dict:
        """The loaded model's manifest: charset, metrics, classifier comparison, versions, checksums."""
        return solver.model.manifest_

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def prometheus():
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in (Base64Image, BatchRequest):
                found = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(found.pop("$defs", {}))
                components[model.__name__] = found
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi

    def limit_for(path: str) -> int | None:
        if path == "/predict":
            return single_limit
        if path == "/predict/batch":
            return batch_limit
        return None

    app.add_middleware(BodyLimitMiddleware, limit_for=limit_for)
    app.add_middleware(_MetricsMiddleware, metrics=metrics)
    return app
