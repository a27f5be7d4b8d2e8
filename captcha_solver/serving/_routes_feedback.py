"""``POST /feedback``: the site's verdict on an answer feeds the accept rate and, optionally, the training data."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import anyio
from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError

from captcha_solver.serving._errors import ApiError
from captcha_solver.serving._feedback import FeedbackStore, Pending, PendingAnswers, new_request_id
from captcha_solver.serving._metrics import Metrics
from captcha_solver.serving.schemas import ErrorResponse, FeedbackRequest, FeedbackResponse
from captcha_solver.settings import Config

__all__ = ["Feedback", "feedback_router"]


class Feedback:
    """The API's feedback state: pending answers, verdict counts per model version, the store.

    :meth:`remember` and the route run on the event loop (see :class:`PendingAnswers`); only the
    writes to disk go to a worker thread.
    """

    def __init__(self, cfg: Config, metrics: Metrics, logger):
        self.settings = cfg.feedback
        self.pending = PendingAnswers(cfg.feedback)
        self.store = FeedbackStore(cfg.feedback, cfg.input)
        self.metrics = metrics
        self.logger = logger
        self.verdicts: dict[str, list[int]] = {}  # model version -> [accepted, all]

    def remember(self, answer: dict, model, payload: bytes | str) -> None:
        """Give an answer its ``request_id`` and keep what its feedback will need."""
        request_id = new_request_id()
        answer["request_id"] = request_id
        policy = getattr(model, "policy", None)
        self.pending.add(
            request_id,
            Pending(
                model_version=answer.get("model_version") or "unknown",
                prediction=answer["text"],
                charset=getattr(model, "charset", ""),
                lengths=getattr(policy, "lengths", frozenset()),
                created=self.pending.clock(),
                payload=payload if self.settings.keep_images else None,
            ),
        )

    def count(self, version: str, accepted: bool) -> None:
        counts = self.verdicts.setdefault(version, [0, 0])
        counts[0] += accepted
        counts[1] += 1
        self.metrics.feedback.labels(version, "accepted" if accepted else "rejected").inc()
        self.metrics.accept_rate.labels(version).set(counts[0] / counts[1])

    def save(self, body: FeedbackRequest, pending: Pending, label: str) -> str:
        """Write the kept captcha (if any) and the verdict's row; the captcha's path ('' if none). In a thread."""
        saved_as = ""
        if pending.payload is not None and (label or not body.accepted):
            png = self.store.png(pending.payload, body.request_id)
            saved_as = self.store.save_image(png, label or None, body.request_id)
        self.store.record(
            {
                "request_id": body.request_id,
                "model_version": pending.model_version,
                "prediction": pending.prediction,
                "accepted": body.accepted,
                "text": body.text or "",
                "saved_as": saved_as,
            }
        )
        return saved_as


async def _body(request: Request) -> FeedbackRequest:
    """The request's JSON body as a :class:`FeedbackRequest`; 422 ``invalid_request`` naming what is wrong."""
    raw = await request.body()
    try:
        return FeedbackRequest.model_validate(json.loads(raw))
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError and ValidationError are ValueErrors
        detail = exc.errors(include_url=False) if isinstance(exc, ValidationError) else str(exc)
        raise ApiError(
            422, "invalid_request", f"POST /feedback needs a JSON object {_SHAPE}: {detail}"
        ) from None


_SHAPE = '{"request_id": "...", "accepted": true|false, "text": "..." (optional)}'


def feedback_router(feedback: Feedback, check_key: Callable) -> APIRouter:
    """``POST /feedback`` of one app, behind ``check_key``."""
    router = APIRouter()
    errors = {status: {"model": ErrorResponse} for status in (401, 404, 409, 413, 422, 503)}

    @router.post(
        "/feedback",
        response_model=FeedbackResponse,
        responses=errors,
        dependencies=[Depends(check_key)],
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/FeedbackRequest"}}},
            }
        },
        summary="Tell whether the site accepted an answer",
    )
    async def post_feedback(request: Request):
        """Record the site's verdict on an answer (by its request_id); with feedback.keep_images, keep the captcha.

        An accepted answer is labelled with its own text unless a text is given; a rejected one with
        the given text, or saved unlabelled without one.
        """
        body = await _body(request)  # read here, so that the body limit's 413 is answered as such
        rid = body.request_id
        state, pending = feedback.pending.lookup(rid)
        if state == "done":
            raise ApiError(409, "feedback_repeated", f"request_id {rid}: its feedback was already recorded")
        if pending is None:
            raise ApiError(
                404,
                "unknown_request_id",
                f"request_id {rid}: no answer waits for feedback under this id on this server (unknown, or older "
                f"than feedback.pending_ttl_s = {feedback.settings.pending_ttl_s:g} s, or one of more than "
                f"feedback.max_pending = {feedback.settings.max_pending})",
            )
        if body.text is not None and (problem := pending.text_problem(body.text)):
            raise ApiError(422, "invalid_text", f"request_id {rid}: {problem}")
        label = body.text or (pending.prediction if body.accepted else "")
        if label and pending.text_problem(label):
            label = ""  # an accepted reading the model could not have labelled (e.g. empty): kept unlabelled
        pending = feedback.pending.claim(rid)
        started = time.perf_counter()
        try:
            saved_as = await anyio.to_thread.run_sync(feedback.save, body, pending, label)
        except (OSError, ValueError) as exc:
            feedback.pending.restore(rid, pending)  # nothing recorded: the client may send it again
            feedback.logger.error("feedback %s could not be saved: %s", rid, exc)
            raise ApiError(
                503, "feedback_not_saved", f"request_id {rid}: the feedback could not be saved ({exc})"
            ) from None
        feedback.count(pending.model_version, body.accepted)
        # Debug, not info: a verdict writes feedback.csv (and the captcha) and nothing else.
        feedback.logger.debug(
            "feedback %s: %s %r (%s)%s in %.1f ms",
            rid,
            "accepted" if body.accepted else "rejected",
            pending.prediction,
            pending.model_version,
            f", saved as {saved_as}" if saved_as else "",
            (time.perf_counter() - started) * 1e3,
        )
        return {
            "request_id": rid,
            "accepted": body.accepted,
            "model_version": pending.model_version,
            "label": label,
            "saved_as": saved_as,
        }

    return router
