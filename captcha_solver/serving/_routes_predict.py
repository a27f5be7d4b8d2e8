"""The reading routes: ``POST /predict`` (one image) and ``POST /predict/batch`` (several).

Every answer read gets a ``request_id`` (for ``POST /feedback``) and is counted per model version
(:class:`AnswerMonitor`: the confidence, length and drift metrics).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request

from captcha_solver.read_result import api_row, error_row
from captcha_solver.serving._bodies import read_uploads
from captcha_solver.serving._errors import ApiError
from captcha_solver.serving._metrics import Metrics
from captcha_solver.serving._monitor import AnswerMonitor
from captcha_solver.serving._routes_feedback import Feedback
from captcha_solver.serving._scheduling import ReadScheduler
from captcha_solver.serving.schemas import (
    BATCH_BODY_DOC,
    PREDICT_BODY_DOC,
    BatchResponse,
    ErrorResponse,
    PredictResponse,
)
from captcha_solver.settings import Config

__all__ = ["predict_router"]

_ERRORS = {status: {"model": ErrorResponse} for status in (400, 401, 413, 415, 422, 503)}


def _model_of(uploads, answer: dict):
    """The loaded model that gave ``answer`` (the one serving now, unless a swap came in between)."""
    solver = uploads.solver
    return solver.model_ if getattr(solver, "model_version", None) == answer.get("model_version") else None


def predict_router(
    cfg: Config,
    reads: ReadScheduler,
    metrics: Metrics,
    check_key: Callable,
    answers: AnswerMonitor | None = None,
    feedback: Feedback | None = None,
) -> APIRouter:
    """The two reading routes of one app, behind ``check_key``.

    Every image read is counted in ``metrics``, watched by ``answers`` and remembered by ``feedback``
    (its ``request_id``).
    """
    router = APIRouter()
    serving = cfg.serving

    async def read(name: str, payload: bytes | str) -> dict:
        result = await reads.read(name, payload)
        metrics.count_prediction(result["status"])
        model = _model_of(reads.uploads, result)
        if answers is not None:
            answers.observe(result, model)
        if feedback is not None:
            # A swap in between (rare): the charset and lengths of the model serving now are close enough.
            feedback.remember(result, model or reads.uploads.solver.model_, payload)
        return result

    @router.post(
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
        return await read(name, data)

    @router.post(
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
                item = await read(name, data)
                item.update(http_status=200, error_code="")
            except ApiError as exc:
                metrics.count_error("/predict/batch", exc.code)
                metrics.count_prediction("error")
                item = dict(api_row(error_row(name, exc.detail)), http_status=exc.status, error_code=exc.code)
            results.append(item)
        return {"results": results, "latency_ms": round((time.perf_counter() - started) * 1e3, 3)}

    return router
