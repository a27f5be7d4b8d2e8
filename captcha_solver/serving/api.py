"""The HTTP API: a thin FastAPI shell around ``My_CaptchaSolver_Model``.

Endpoints: ``POST /predict`` (multipart ``file``, JSON ``image_base64`` or a
raw ``image/*`` body), ``POST /predict/batch``, ``GET /health``, ``GET /model``
(the manifest) and ``GET /metrics`` (Prometheus). Every error is a JSON body
``{"error": code, "detail": message}``; client mistakes are 4xx, never 500.
Request bodies and decoded images reserve memory from two budgets
(``serving.body_memory_mb``, ``serving.decode_memory_mb``) before they are
allocated; a request that finds no room within 10 s is answered 503
``server_busy`` with ``Retry-After``.

Run it with ``python model.py serve`` or
``uvicorn --factory captcha_solver.serving.api:create_app``.
"""

from __future__ import annotations

import os
import secrets
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

import captcha_solver
from captcha_solver.reading import api_row, error_row
from captcha_solver.serving._api_key import api_key_from_env
from captcha_solver.serving._bodies import read_uploads
from captcha_solver.serving._budget import MemoryBudget
from captcha_solver.serving._errors import ApiError
from captcha_solver.serving._limits import BODY_FACTOR, BodyLimit, BodyLimitMiddleware
from captcha_solver.serving._metrics import CONTENT_TYPE_LATEST, Metrics, MetricsMiddleware
from captcha_solver.serving._solver import BYTES_PER_PIXEL, Solver
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

__all__ = ["API_KEY_HEADER", "create_app"]

API_KEY_HEADER = "X-API-Key"
# Multipart framing and JSON/base64 (4/3 of the bytes) on top of the image itself.
_ENVELOPE_BYTES = 16 * 1024
_MIB = 1024 * 1024

_ERRORS = {status: {"model": ErrorResponse} for status in (400, 401, 413, 415, 422, 503)}


def _warn_over_budget(
    logger, cfg: Config, batch_limit: int, images: MemoryBudget, bodies: MemoryBudget
) -> None:
    """Log the limits that let one request need more than its whole budget (it then runs alone)."""
    image_bytes = cfg.input.max_pixels * BYTES_PER_PIXEL
    if image_bytes > images.total:
        logger.warning(
            "input.max_pixels = %d lets one image take up to %d MiB to decode and read, over "
            "serving.decode_memory_mb = %d: such an image waits until nothing else is decoded",
            cfg.input.max_pixels,
            image_bytes // _MIB,
            cfg.serving.decode_memory_mb,
        )
    if batch_limit * BODY_FACTOR > bodies.total:
        logger.warning(
            "a /predict/batch body of %d bytes may take %d MiB, over serving.body_memory_mb = %d: "
            "such a body waits until no other body is read",
            batch_limit,
            batch_limit * BODY_FACTOR // _MIB,
            cfg.serving.body_memory_mb,
        )


@asynccontextmanager
async def _turn(limiter: anyio.CapacityLimiter, wait_s: float | None, what: str):
    """Hold a token of ``limiter`` for the block, waiting for it at most ``wait_s`` (None: no limit)."""
    try:
        with anyio.fail_after(wait_s):
            await limiter.acquire()
    except TimeoutError:
        raise ApiError(
            503,
            "server_busy",
            f"{what}: the server is busy reading other large images; no turn came within {wait_s:g} s. Retry later.",
        ) from None
    try:
        yield
    finally:
        limiter.release()


def _install_error_handlers(app: FastAPI, solver: Solver, count) -> None:
    """Every error as a JSON body ``{"error": code, "detail": message}``; client mistakes are 4xx, never 500."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        route = getattr(request.scope.get("route"), "path", "unmatched")
        count(exc, route)
        headers = {401: {"WWW-Authenticate": API_KEY_HEADER}, 503: {"Retry-After": "1"}}.get(exc.status)
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

    The routes are closures over this app's solver, metrics, thread limiters, memory budgets
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
    solver = Solver(model_dir, cfg)
    metrics = Metrics()
    metrics.model_loaded.set(1)
    serving = cfg.serving
    api_key = api_key_from_env(serving, logger=solver.model.logger)
    # Reads at once: more threads than cores only adds contention; a few extra hide I/O and the
    # GIL hand-offs. A read takes its turn, then its memory, then a thread of ``read_threads``.
    # Images too big for a fair share of the memory take their turns one at a time, apart, so
    # that while they wait for memory they never hold the turns of the captchas.
    turns = anyio.CapacityLimiter(max(2, (os.cpu_count() or 1) + 2))
    big_turns = anyio.CapacityLimiter(1)
    read_threads = anyio.CapacityLimiter(turns.total_tokens + big_turns.total_tokens)
    single_limit = serving.max_upload_bytes * 4 // 3 + _ENVELOPE_BYTES
    batch_limit = min(single_limit * serving.max_batch, serving.max_batch_bytes)
    images_budget = MemoryBudget(serving.decode_memory_mb * _MIB, setting="serving.decode_memory_mb")
    bodies_budget = MemoryBudget(serving.body_memory_mb * _MIB, setting="serving.body_memory_mb")
    _warn_over_budget(solver.model.logger, cfg, batch_limit, images_budget, bodies_budget)

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
    app.state.images_budget = images_budget
    app.state.bodies_budget = bodies_budget

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

    async def read(name: str, payload: bytes | str) -> dict:
        # The header check is cheap and needs no reservation: a bomb is refused here, at once, in
        # the default thread pool (not queued behind the reads of honest captchas).
        data, header = await anyio.to_thread.run_sync(solver.check, payload, name)
        cost = header.width * header.height * BYTES_PER_PIXEL
        big = cost > images_budget.total // turns.total_tokens
        try:
            # The turn first, then memory: only the few reads that hold a turn ever wait for
            # memory. A captcha's turn comes first come, first served, with no time limit, so it
            # never times out queueing behind other captchas; a big image waits at most wait_s.
            async with _turn(big_turns if big else turns, images_budget.wait_s if big else None, name):
                taken = await images_budget.acquire(cost, name)
                try:
                    return await anyio.to_thread.run_sync(solver.read, data, name, limiter=read_threads)
                finally:
                    images_budget.release(taken)
        except ApiError as exc:
            if exc.code == "server_busy":  # not read: recorded like any refused upload
                await anyio.to_thread.run_sync(solver.refused, name, exc)
            raise

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
        ((name, data),) = await read_uploads(request, cfg, batch=False)
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
        items = await read_uploads(request, cfg, batch=True)
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

    limits = {
        "/predict": BodyLimit(
            single_limit, "serving.max_upload_bytes, plus room for base64 and multipart framing"
        ),
        "/predict/batch": BodyLimit(batch_limit, "serving.max_batch_bytes"),
    }
    app.add_middleware(BodyLimitMiddleware, limit_for=limits.get, budget=bodies_budget)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app
