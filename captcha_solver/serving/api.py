"""The HTTP API: a thin FastAPI shell around ``My_CaptchaSolver_Model``.

Endpoints: ``POST /predict`` (multipart ``file``, JSON ``image_base64`` or a
raw ``image/*`` body), ``POST /predict/batch``, ``POST /feedback`` (the site's
verdict on an answer, by its ``request_id``), ``GET /health``, ``GET /model``
(the manifest), ``GET /metrics`` (Prometheus) and, with the admin token,
``GET /admin/log`` and ``GET /admin/results``. Every error is a JSON body
``{"error": code, "detail": message}``; client mistakes are 4xx, never 500.
Request bodies and decoded images reserve memory from two budgets
(``serving.body_memory_mb``, ``serving.decode_memory_mb``) before they are
allocated; a request that finds no room within 10 s is answered 503
``server_busy`` with ``Retry-After``.

Run it with ``python model.py serve`` or
``uvicorn --factory captcha_solver.serving.api:create_app``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

import captcha_solver
from captcha_solver.serving._api_key import API_KEY_HEADER, api_key_from_env, key_check
from captcha_solver.serving._budget import MemoryBudget
from captcha_solver.serving._errors import ApiError
from captcha_solver.serving._limits import BODY_FACTOR, BodyLimit, BodyLimitMiddleware
from captcha_solver.serving._metrics import Metrics, MetricsMiddleware
from captcha_solver.serving._monitor import AnswerMonitor
from captcha_solver.serving._routes_feedback import Feedback, feedback_router
from captcha_solver.serving._routes_ops import ops_router
from captcha_solver.serving._routes_predict import predict_router
from captcha_solver.serving._routes_records import records_router
from captcha_solver.serving._scheduling import ReadScheduler
from captcha_solver.serving._uploads import BYTES_PER_PIXEL, UploadReader
from captcha_solver.serving.schemas import Base64Image, BatchRequest, FeedbackRequest
from captcha_solver.settings import Config, ServingConfig, load_config

__all__ = ["API_KEY_HEADER", "create_app"]

# Multipart framing and JSON/base64 (4/3 of the bytes) on top of the image itself.
_ENVELOPE_BYTES = 16 * 1024
_MIB = 1024 * 1024
_FEEDBACK_BYTES = 4096


def _body_limits(serving: ServingConfig) -> dict[str, BodyLimit]:
    """The largest request body of each reading route, with the settings that set it."""
    single_limit = serving.max_upload_bytes * 4 // 3 + _ENVELOPE_BYTES
    batch_limit = min(single_limit * serving.max_batch, serving.max_batch_bytes)
    return {
        "/predict": BodyLimit(
            single_limit, "serving.max_upload_bytes, plus room for base64 and multipart framing"
        ),
        "/predict/batch": BodyLimit(batch_limit, "serving.max_batch_bytes"),
        # A verdict is an id, a bool and a short text.
        "/feedback": BodyLimit(_FEEDBACK_BYTES, "a fixed 4 KiB: feedback bodies are small"),
    }


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


def _new_app(api_key: str) -> FastAPI:
    """The bare app: its title, version and description."""
    return FastAPI(
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


def _install_error_handlers(app: FastAPI, logger, metrics: Metrics) -> None:
    """Every error as a JSON body ``{"error": code, "detail": message}``; client mistakes are 4xx, never 500."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        route = getattr(request.scope.get("route"), "path", "unmatched")
        metrics.count_error(route, exc.code)
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
        logger.exception("unexpected error on %s", request.url.path)
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
            for model in (Base64Image, BatchRequest, FeedbackRequest):
                found = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(found.pop("$defs", {}))
                components[model.__name__] = found
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi


def create_app(model_dir: str | Path | None = None, config: Config | str | Path | None = None) -> FastAPI:
    """Build the API around a loaded model.

    Everything the routes use (the upload reader, metrics, read scheduler, memory budgets and
    API key) is made here, once per call, so a process can hold several apps; the routes
    themselves are in :mod:`._routes_predict` and :mod:`._routes_ops`.

    Parameters
    ----------
    model_dir : path or str, optional
        Model folder (default: ``./model`` if it holds a model, else the shipped one), or a
        registry reference; on an alias (``models:/NAME@champion``) the app follows it
        (``app.state.uploads.follower``; :meth:`UploadReader.close` stops it).
    config : Config or path, optional
        Settings or a ``config.yaml`` path (default: the one rule of
        :func:`captcha_solver.settings.resolve_config`).

    Returns
    -------
    app : FastAPI
        With ``app.state.uploads`` (the :class:`UploadReader`), ``.metrics``,
        ``.images_budget`` and ``.bodies_budget``.

    Raises
    ------
    artifacts.ModelFolderError
        If the model folder is missing or fails its checks (the server does not start half-ready).
    registry.RegistryError
        If a registry reference names no version, or its version cannot be fetched or is broken.
    settings.ConfigError
        If the config file is invalid, or ``serving.api_key_env`` names a variable
        that is unset or empty (see :func:`captcha_solver.serving._api_key.api_key_from_env`).
    """
    cfg = config if isinstance(config, Config) else load_config(config)
    serving = cfg.serving
    uploads = UploadReader(model_dir, cfg)
    logger = uploads.solver.logger
    metrics = Metrics()
    metrics.model_loaded.set(1)
    api_key = api_key_from_env(serving, logger=logger)
    body_limits = _body_limits(serving)
    images_budget = MemoryBudget(serving.decode_memory_mb * _MIB, setting="serving.decode_memory_mb")
    bodies_budget = MemoryBudget(serving.body_memory_mb * _MIB, setting="serving.body_memory_mb")
    _warn_over_budget(logger, cfg, body_limits["/predict/batch"].max_bytes, images_budget, bodies_budget)

    app = _new_app(api_key)
    app.state.uploads = uploads
    app.state.metrics = metrics
    app.state.images_budget = images_budget
    app.state.bodies_budget = bodies_budget
    _install_error_handlers(app, logger, metrics)
    check_key = key_check(api_key)
    answers = AnswerMonitor(metrics, cfg.monitoring, logger=logger)
    feedback = Feedback(cfg, metrics, logger)
    reads = ReadScheduler(uploads, images_budget)
    app.include_router(predict_router(cfg, reads, metrics, check_key, answers, feedback))
    app.include_router(feedback_router(feedback, check_key))
    app.include_router(ops_router(uploads, metrics, check_key))
    app.include_router(records_router(cfg))  # GET /admin/log, /admin/results: admin token only
    uploads.follow(metrics)  # on a registry alias: poll it and swap models in the background
    _install_openapi(app)
    app.add_middleware(BodyLimitMiddleware, limit_for=body_limits.get, budget=bodies_budget)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app
