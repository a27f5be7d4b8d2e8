"""The HTTP API: a thin FastAPI shell around ``My_CaptchaSolver_Model``.

Endpoints: ``POST /predict`` (multipart ``file``, JSON ``image_base64`` or a
raw ``image/*`` body), ``POST /predict/batch``, ``GET /health``, ``GET /model``
(the manifest) and ``GET /metrics`` (Prometheus). Every error is a JSON body
``{"error": code, "detail": message}``; client mistakes are 4xx, never 500.

Run it with ``python model.py serve`` or
``uvicorn --factory captcha_solver.serving.api:create_app``.
"""

from __future__ import annotations

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
from starlette.exceptions import HTTPException as StarletteHTTPException

import captcha_solver
from captcha_solver.common import ResultsLog
from captcha_solver.image_io import ImageDecodeError, decode_image
from captcha_solver.reading import api_row, csv_row, error_row
from captcha_solver.serving._api_key import api_key_from_env
from captcha_solver.serving._errors import ApiError, decode_error
from captcha_solver.serving._limits import BodyLimitMiddleware
from captcha_solver.serving._metrics import CONTENT_TYPE_LATEST, Metrics, MetricsMiddleware
from captcha_solver.serving._uploads import read_uploads
from captcha_solver.serving.schemas import (
    BATCH_BODY_DOC,
    PREDICT_BODY_DOC,
    Base64Image,
    BatchRequest,
    BatchResponse,
    ErrorResponse,
    HealthResponse,
    PredictResponse,
)
from captcha_solver.settings import Config, load_config
from captcha_solver.solver import My_CaptchaSolver_Model

__all__ = ["API_KEY_HEADER", "create_app"]

API_KEY_HEADER = "X-API-Key"
# Multipart framing and JSON/base64 (4/3 of the bytes) on top of the image itself.
_ENVELOPE_BYTES = 16 * 1024

_ERRORS = {status: {"model": ErrorResponse} for status in (400, 401, 413, 415, 422)}


class _Solver:
    """The loaded model, shared by all requests (``predict`` is thread-safe)."""

    def __init__(self, model_dir, config: Config):
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
                    name,
                    f"upload is {len(data)} bytes, over the limit of {cfg.serving.max_upload_bytes} "
                    "(serving.max_upload_bytes)",
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
                csv_row(error_row(name, str(exc), latency_ms=(time.perf_counter() - started) * 1e3))
            )
            raise error from None
        row = self.model.predict(rgb, name=name)
        row["latency_ms"] = (time.perf_counter() - started) * 1e3
        self.model.logger.info(
            "predict %s: %r (confidence %.3f, %s) in %.1f ms",
            name,
            row["prediction"],
            row["confidence"],
            row["status"],
            row["latency_ms"],
        )
        return api_row(row)


def _install_error_handlers(app: FastAPI, solver: _Solver, count) -> None:
    """Every error as a JSON body ``{"error": code, "detail": message}``; client mistakes are 4xx, never 500."""

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
        return await _api_error(
            request, ApiError(exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail))
        )

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception):
        solver.model.logger.exception("unexpected error on %s", request.url.path)
        return JSONResponse(
            {"error": "internal_error", "detail": f"{type(exc).__name__}: {exc}"}, status_code=500
        )


def _install_openapi(app: FastAPI) -> None:
    """The OpenAPI schema with the request bodies' models (the routes read the raw request)."""

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in (Base64Image, BatchRequest):
                found = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(found.pop("$defs", {}))
                components[model.__name__] = found
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi


def create_app(model_dir: str | Path | None = None, config: Config | str | Path | None = None) -> FastAPI:
    """Build the API around a loaded model.

    The routes are closures over this app's solver, metrics, thread limiter
    and API key (one app per call, so a process can hold several), which is
    why this function is over 80 lines; request parsing, error handlers and
    the OpenAPI schema live in their own functions.

    Parameters
    ----------
    model_dir : path, optional
        Model folder (default: ``./model`` if it holds a model, else the shipped one).
    config : Config or path, optional
        Settings or a ``config.yaml`` path (default: the one rule of
        :func:`captcha_solver.settings.resolve_config`).

    Returns
    -------
    app : FastAPI

    Raises
    ------
    artifacts.ModelFolderError
        If the model folder is missing or fails its checks (the server does not start half-ready).
    settings.ConfigError
        If the config file is invalid, or ``serving.api_key_env`` names a variable
        that is unset or empty (see :func:`captcha_solver.serving._api_key.api_key_from_env`).
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
        # The installed distribution's version (importlib.metadata), not the model's.
        version=captcha_solver.__version__,
        description=(
            "Reads the text of captchas. Send an image as multipart (`file` field), as JSON "
            "(`image_base64`) or as a raw `image/*` body (name it with an `X-File-Name` header). "
            "Every prediction is appended to results.csv. "
            + (
                f"Send the API key in the `{API_KEY_HEADER}` header."
                if api_key
                else "No API key is required."
            )
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
            raise ApiError(
                401, "unauthorized", f"{what} API key: send the key in the {API_KEY_HEADER} header"
            )

    def count(error: ApiError, route: str) -> None:
        metrics.errors.labels(route, error.code).inc()

    _install_error_handlers(app, solver, count)

    async def read(name: str, data: bytes) -> dict:
        return await anyio.to_thread.run_sync(solver.read, data, name, limiter=limiter)

    def record(result: dict) -> dict:
        metrics.predictions.labels(result["status"]).inc()
        return result

    @app.post(
        "/predict",
        response_model=PredictResponse,
        responses=_ERRORS,
        dependencies=[Depends(check_key)],
        openapi_extra={"requestBody": PREDICT_BODY_DOC},
        summary="Read one captcha",
    )
    async def predict(request: Request):
        """Read the text of one captcha image. Each call appends one row to results.csv."""
        ((name, data),) = await read_uploads(request, serving, batch=False)
        if isinstance(data, ApiError):
            raise data
        return record(await read(name, data))

    @app.post(
        "/predict/batch",
        response_model=BatchResponse,
        responses=_ERRORS,
        dependencies=[Depends(check_key)],
        openapi_extra={"requestBody": BATCH_BODY_DOC},
        summary="Read several captchas",
    )
    async def predict_batch(request: Request):
        """Read up to serving.max_batch images; a bad image fails alone (its http_status says how)."""
        started = time.perf_counter()
        items = await read_uploads(request, serving, batch=True)
        if len(items) > serving.max_batch:
            raise ApiError(
                413,
                "batch_too_large",
                f"{len(items)} images in one batch, over serving.max_batch = {serving.max_batch}",
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
                item = dict(api_row(error_row(name, exc.detail)), http_status=exc.status, error_code=exc.code)
            results.append(item)
        return {"results": results, "latency_ms": round((time.perf_counter() - started) * 1e3, 3)}

    @app.get("/health", response_model=HealthResponse, summary="Liveness and readiness")
    async def health():
        model = solver.model
        return {
            "status": "ok" if model.loaded else "unavailable",
            "model_loaded": model.loaded,
            "model_dir": str(model.resolved_model_dir()),
            "charset_size": len(model.charset),
        }

    @app.get(
        "/model",
        dependencies=[Depends(check_key)],
        responses={401: {"model": ErrorResponse}},
        summary="The model manifest",
    )
    async def manifest() -> dict:
        """The loaded model's manifest: charset, metrics, classifier comparison, versions, checksums."""
        return solver.model.manifest_

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def prometheus():
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    _install_openapi(app)

    def limit_for(path: str) -> int | None:
        if path == "/predict":
            return single_limit
        if path == "/predict/batch":
            return batch_limit
        return None

    app.add_middleware(BodyLimitMiddleware, limit_for=limit_for)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app
