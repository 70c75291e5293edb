"""Prometheus metrics of the HTTP service: requests per endpoint, latencies, answer outcomes.

Each app owns its registry, so several apps (tests, workers) never collide on metric names.
"""

from __future__ import annotations

import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa.schema import Answer


class Metrics:
    """The service's counters and histograms, in a private registry."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "qa_http_requests",
            "HTTP requests by method, endpoint (route template) and status.",
            ["method", "endpoint", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "qa_http_request_duration_seconds",
            "Time from request to the end of the response (whole stream for SSE).",
            ["method", "endpoint"],
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
            registry=self.registry,
        )
        self.answers = Counter(
            "qa_answers", "Answers given, by backend.", ["backend"], registry=self.registry
        )
        self.refused = Counter(
            "qa_answers_refused",
            "Answers refused (the articles do not say).",
            registry=self.registry,
        )
        self.dropped = Counter(
            "qa_sentences_dropped",
            "Answer sentences removed because the cited passages did not support them.",
            registry=self.registry,
        )

    def observe_answer(self, answer: Answer) -> None:
        self.answers.labels(answer.backend).inc()
        if answer.refused:
            self.refused.inc()
        self.dropped.inc(answer.dropped_sentences)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts and times every HTTP request, labelled by its route template (bounded labels)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            endpoint = _endpoint(scope)
            method = scope["method"]
            self.metrics.requests.labels(method, endpoint, str(status)).inc()
            self.metrics.latency.labels(method, endpoint).observe(time.perf_counter() - started)


def _endpoint(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    return "/static" if str(scope.get("path", "")).startswith("/static/") else "unmatched"
