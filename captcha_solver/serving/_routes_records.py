"""The admin routes: the log (``GET /admin/log``) and the results CSV (``GET /admin/results``), filtered, or
downloaded with ``download=true``.

They hold what clients sent, so they need the admin token (the variable ``serving.admin_token_env``,
sent in the :data:`ADMIN_TOKEN_HEADER` header); when the server has no admin token they are refused
(403) with a message that says how to turn them on. The filters are those of the UI's records page
(:mod:`captcha_solver.records`): plain text, never a pattern.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, Response

from captcha_solver.common import RESULTS_COLUMNS
from captcha_solver.records import (
    LOG_LEVELS,
    RecordsError,
    filter_results,
    load_results,
    log_records,
    log_text,
    results_csv_bytes,
)
from captcha_solver.serving._errors import ApiError
from captcha_solver.serving.schemas import ErrorResponse
from captcha_solver.settings import Config

__all__ = ["ADMIN_TOKEN_HEADER", "records_router"]

#: The request header that carries the admin token.
ADMIN_TOKEN_HEADER = "X-Admin-Token"
_REFUSALS = {401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 404: {"model": ErrorResponse}}


def _admin_check(env: str, token: str):
    async def check_admin(request: Request) -> None:
        if not token:
            raise ApiError(
                403,
                "admin_disabled",
                f"the admin routes are off: the server has no admin token ({env} is not set). Set {env} "
                f"and send it in the {ADMIN_TOKEN_HEADER} header",
            )
        given = request.headers.get(ADMIN_TOKEN_HEADER, "")
        if not secrets.compare_digest(given.encode(), token.encode()):
            what = "missing" if not given else "wrong"
            raise ApiError(
                401, "unauthorized", f"{what} admin token: send it in the {ADMIN_TOKEN_HEADER} header"
            )

    return check_admin


def _records_error(exc: RecordsError) -> ApiError:
    if exc.missing:
        return ApiError(404, "not_found", str(exc))
    # The filters are checked by the query's types: what is left is a file the server cannot read.
    return ApiError(500, "records_unreadable", str(exc))


def _attachment(content: bytes, name: str, media_type: str) -> Response:
    return Response(
        content, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


def records_router(cfg: Config, environ: Mapping[str, str] | None = None) -> APIRouter:
    """The admin routes over ``cfg.paths.log_file`` and ``cfg.paths.results_csv``.

    Parameters
    ----------
    cfg : Config
    environ : mapping, optional
        Where the admin token is read, once (default ``os.environ``).
    """
    environ = os.environ if environ is None else environ
    env = cfg.serving.admin_token_env
    check_admin = _admin_check(env, environ.get(env, ""))
    log_path, results_path = Path(cfg.paths.log_file), Path(cfg.paths.results_csv)
    default_limit = cfg.ui.records_rows
    router = APIRouter(
        prefix="/admin", dependencies=[Depends(check_admin)], responses=_REFUSALS, tags=["admin"]
    )

    # Plain functions (not async): FastAPI runs them in its thread pool, so reading a large file
    # does not hold up the readings.
    @router.get("/log", summary="The log, newest first (admin)")
    def log(
        level: Literal[LOG_LEVELS] | None = Query(None, description="Lowest level kept."),  # type: ignore[valid-type]
        contains: str = Query("", max_length=200, description="Plain text a record contains (any case)."),
        limit: int = Query(default_limit, ge=1, le=100_000, description="Most records returned."),
        download: bool = Query(
            False, description="Matching records as a log file (no filter: the whole file)."
        ),
    ):
        filtered = bool(level or contains)
        if download and not filtered and log_path.is_file():
            # The whole log, streamed from the file: not parsed, whatever its size.
            return FileResponse(log_path, media_type="text/plain; charset=utf-8", filename=log_path.name)
        try:
            records = log_records(log_path, level=level, contains=contains, limit=None if filtered else limit)
        except RecordsError as exc:
            raise _records_error(exc) from exc
        if download:
            return _attachment(log_text(records).encode("utf-8"), log_path.name, "text/plain; charset=utf-8")
        # Without a filter only the newest `limit` records are read: `matched` is then not counted (null).
        return {
            "file": str(log_path),
            "matched": len(records) if filtered else None,
            "records": [r.to_dict() for r in records[:limit]],
        }

    @router.get("/results", summary="The results CSV, filtered and sorted (admin)")
    def results(
        contains: str = Query(
            "", max_length=200, description="Plain text in the file name, reading or error."
        ),
        status: Literal["ok", "error"] | None = Query(None),
        reader: str = Query("", max_length=40, description="Only this reader's answers."),
        sort: Literal[RESULTS_COLUMNS] = Query("timestamp", description="Column to sort by."),  # type: ignore[valid-type]
        order: Literal["desc", "asc"] = Query("desc"),
        limit: int = Query(default_limit, ge=1, le=100_000, description="Most rows returned."),
        download: bool = Query(False, description="Every matching row as a results CSV."),
    ):
        try:
            rows = filter_results(
                load_results(results_path),
                contains=contains,
                status=status or "",
                reader=reader,
                sort=sort,
                descending=order == "desc",
            )
        except RecordsError as exc:
            raise _records_error(exc) from exc
        if download:
            return _attachment(results_csv_bytes(rows), results_path.name, "text/csv; charset=utf-8")
        return {"file": str(results_path), "matched": len(rows), "rows": rows[:limit]}

    return router
