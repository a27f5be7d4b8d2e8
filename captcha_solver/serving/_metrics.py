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

__all__ = ["CONTENT_TYPE_LATEST", "Metrics", "MetricsMiddleware"]

# Captchas take tens of milliseconds; the buckets resolve that range and a slow tail.
_BUCKETS = (0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)


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

    def count_error(self, route: str, code: str) -> None:
        """One error answer (or one failed image of a batch) on ``route``."""
        self.errors.labels(route, code).inc()

    def count_prediction(self, status: str) -> None:
        """One image read (``ok``) or refused (``error``)."""
        self.predictions.labels(status).inc()

    def render(self) -> bytes:
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
