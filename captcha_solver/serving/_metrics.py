"""Prometheus metrics of the API, in a registry of their own (one per app)."""

from __future__ import annotations

import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from captcha_solver.monitoring import CONFIDENCE_EDGES, LENGTH_EDGES

__all__ = ["CONTENT_TYPE_LATEST", "Metrics", "MetricsMiddleware"]

# Captchas take tens of milliseconds; the buckets resolve that range and a slow tail.
_BUCKETS = (0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
# The baseline's bins (monitoring.CONFIDENCE_EDGES, LENGTH_EDGES): the exported histograms and the drift
# score see the same bins.
_CONFIDENCE_BUCKETS = CONFIDENCE_EDGES[1:]
_LENGTH_BUCKETS = tuple(float(n) for n in LENGTH_EDGES[:-1])


class Metrics:
    """Request counts, latency histogram, prediction outcomes and errors.

    A registry per instance (not the global one) lets tests build several
    apps in one process without "duplicated timeseries" errors.
    """

    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "captcha_http_requests",
            "HTTP requests by route, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "captcha_http_request_duration_seconds",
            "Time to answer a request, by route.",
            ["route"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "captcha_http_errors",
            "Error answers by route and error code.",
            ["route", "code"],
            registry=self.registry,
        )
        self.predictions = Counter(
            "captcha_predictions",
            "Images read, by outcome (ok, error).",
            ["status"],
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "captcha_http_requests_in_flight", "Requests being served.", registry=self.registry
        )
        self.model_loaded = Gauge("captcha_model_loaded", "1 when a model is loaded.", registry=self.registry)
        # Model registry (alias following): which version serves, and versions refused by a swap.
        self.model_version = Gauge(
            "captcha_model_version_info",
            "1 for the model version serving now (models:/NAME/V or folder:<sha>).",
            ["version"],
            registry=self.registry,
        )
        self.model_swap_failures = Counter(
            "captcha_model_swap_failures",
            "New model versions refused (broken or unloadable) while the old one kept serving.",
            registry=self.registry,
        )
        self._add_answer_metrics()

    def set_model_version(self, version: str, previous: str | None = None) -> None:
        """Say which model version serves (the previous one's series is removed)."""
        if previous and previous != version:
            self.model_version.remove(previous)
        self.model_version.labels(version).set(1)

    def _add_answer_metrics(self) -> None:
        """What the answers look like, per model version: the signals of a changed captcha, and the site's verdicts.

        Labels stay bounded: ``model_version`` (the versions served since start), ``reader`` (three
        names) and ``verdict`` (two).
        """
        registry = self.registry
        self.answers = Counter(
            "captcha_answers",
            "Images read, by model version and reader.",
            ["model_version", "reader"],
            registry=registry,
        )
        self.confidence = Histogram(
            "captcha_answer_confidence",
            "Confidence of each reading, by model version.",
            ["model_version"],
            buckets=_CONFIDENCE_BUCKETS,
            registry=registry,
        )
        self.below_fast_path = Counter(
            "captcha_answers_below_fast_path",
            "Readings less sure than the model's fast-path threshold (fusion min_confidence); divide by "
            "captcha_answers_total for the share.",
            ["model_version"],
            registry=registry,
        )
        self.length = Histogram(
            "captcha_answer_length",
            "Characters in each reading, by model version.",
            ["model_version"],
            buckets=_LENGTH_BUCKETS,
            registry=registry,
        )
        self.drift = Gauge(
            "captcha_drift_score",
            "Drift of the last monitoring.window readings from the model's validation baseline: the larger "
            "of the confidence and length PSIs (over 0.25: a significant shift). Absent until monitoring.min_fill readings.",
            ["model_version"],
            registry=registry,
        )
        self.window_fill = Gauge(
            "captcha_drift_window_answers",
            "Readings in the drift window.",
            ["model_version"],
            registry=registry,
        )
        self.feedback = Counter(
            "captcha_feedback",
            "POST /feedback verdicts by model version (accepted, rejected).",
            ["model_version", "verdict"],
            registry=registry,
        )
        self.accept_rate = Gauge(
            "captcha_accept_rate",
            "Share of the answers with feedback that the site accepted, by model version, since start.",
            ["model_version"],
            registry=registry,
        )
        #: Called before each render (e.g. to compute the drift scores at scrape time, not per request).
        self.before_render: list = []

    def count_error(self, route: str, code: str) -> None:
        """One error answer (or one failed image of a batch) on ``route``."""
        self.errors.labels(route, code).inc()

    def count_prediction(self, status: str) -> None:
        """One image read (``ok``) or refused (``error``)."""
        self.predictions.labels(status).inc()

    def render(self) -> bytes:
        """The registry in the Prometheus text format (after the :attr:`before_render` hooks)."""
        for hook in self.before_render:
            hook()
        return generate_latest(self.registry)


class MetricsMiddleware:
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
