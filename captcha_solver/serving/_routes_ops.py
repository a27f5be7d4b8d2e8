"""The operations routes: ``GET /health``, ``GET /model`` (the manifest) and ``GET /metrics`` (Prometheus)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from captcha_solver.serving._metrics import CONTENT_TYPE_LATEST, Metrics
from captcha_solver.serving._uploads import UploadReader
from captcha_solver.serving.schemas import ErrorResponse, HealthResponse

__all__ = ["ops_router"]


def ops_router(uploads: UploadReader, metrics: Metrics, check_key: Callable) -> APIRouter:
    """The routes that tell about the server: its health, its model (behind ``check_key``) and its metrics.

    Each answer reads ``uploads.solver`` once: the model serving now, even after an alias swap.
    """
    router = APIRouter()

    @router.get("/health", response_model=HealthResponse, summary="Liveness and readiness")
    async def health():
        solver = uploads.solver
        return {
            "status": "ok" if solver.loaded else "unavailable",
            "model_loaded": solver.loaded,
            "model_dir": str(solver.resolved_model_dir()),
            "charset_size": len(solver.charset),
            "model_version": solver.model_version,
        }

    @router.get(
        "/model",
        dependencies=[Depends(check_key)],
        responses={401: {"model": ErrorResponse}},
        summary="The model manifest",
    )
    async def manifest() -> dict:
        """The loaded model's manifest (charset, metrics, classifier comparison, versions, checksums) and its version."""
        solver = uploads.solver
        return {"model_version": solver.model_version, **dict(solver.model_.manifest)}

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def prometheus():
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return router
