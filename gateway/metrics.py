"""Prometheus metrics: HTTP requests, stage durations, render frames/s, failures, queue depth.

Each app has its own registry (tests build many apps in one process). Request metrics come from
an ASGI middleware labelled by route template (not raw path, which would explode cardinality).
Stage durations and frames/s come from `gateway.follow.ProjectFollower`, which follows every
project the gateway starts or is asked about; project counts by state (queue depth, failures)
are read from the orchestrator at scrape time, cached for a few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter as Tally
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import grpc
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.views import ACTIVE_STATES, state_name

if TYPE_CHECKING:
    from gateway.state import GatewayState

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "lumiere_gateway_requests",
            "HTTP requests served",
            ["method", "route", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "lumiere_gateway_request_seconds",
            "HTTP request latency (to the last byte)",
            ["method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=r,
        )
        self.upload_bytes = Counter(
            "lumiere_gateway_upload_bytes", "Bytes accepted into storage", ["kind"], registry=r
        )
        self.rejected_uploads = Counter(
            "lumiere_gateway_rejected_uploads", "Uploads rejected", ["reason"], registry=r
        )
        self.stage_seconds = Histogram(
            "lumiere_stage_duration_seconds",
            "Wall time of each pipeline stage, as seen by the gateway",
            ["stage"],
            buckets=(0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 3600),
            registry=r,
        )
        self.task_seconds = Histogram(
            "lumiere_task_duration_seconds",
            "Wall time of each finished pipeline task (stage call or one segment render)",
            ["stage"],
            buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200),
            registry=r,
        )
        self.task_retries = Counter(
            "lumiere_task_retries", "Extra attempts pipeline tasks needed", ["stage"], registry=r
        )
        self.render_fps = Gauge(
            "lumiere_render_frames_per_second",
            "Frames per second of the last animation stage (video frames / stage wall time)",
            registry=r,
        )
        self.frames = Counter(
            "lumiere_rendered_frames", "Video frames rendered by finished projects", registry=r
        )
        self.failures = Counter(
            "lumiere_project_failures",
            "Projects seen failing, by stage",
            ["stage"],
            registry=r,
        )
        self.projects = Gauge(
            "lumiere_projects",
            "Projects known to the orchestrator, by state",
            ["state"],
            registry=r,
        )
        self.queue_depth = Gauge(
            "lumiere_queue_depth",
            "Projects being processed or waiting in the pipeline",
            registry=r,
        )
        self.orchestrator_up = Gauge(
            "lumiere_orchestrator_up", "1 when the last scrape reached the orchestrator", registry=r
        )
        self._counted_at = 0.0
        self._states_seen: set[str] = set()

    async def refresh_project_counts(self, orchestrator: Any, max_age_s: float) -> None:
        if time.monotonic() - self._counted_at < max_age_s:
            return
        try:
            projects = await orchestrator.list_all()
        except grpc.aio.AioRpcError:
            self.orchestrator_up.set(0)
            return
        self.orchestrator_up.set(1)
        tally = Tally(state_name(p.state) for p in projects)
        for state in self._states_seen | set(tally):
            self.projects.labels(state=state).set(tally.get(state, 0))
        self._states_seen |= set(tally)
        self.queue_depth.set(sum(tally.get(s, 0) for s in ACTIVE_STATES))
        self._counted_at = time.monotonic()


class MetricsMiddleware:
    """Counts and times every HTTP request by its route template."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            # Only known methods become label values: arbitrary ones would grow series forever.
            method = scope.get("method", "GET")
            method = method if method in KNOWN_METHODS else "other"
            self.metrics.requests.labels(method, path, str(status)).inc()
            self.metrics.latency.labels(method, path).observe(time.perf_counter() - start)


@contextlib.asynccontextmanager
async def serve_metrics_port(state: GatewayState) -> AsyncIterator[None]:
    """With `metrics_port` set: /metrics on that port (prometheus_client's own server, in a
    thread) and the project counts refreshed in the background; otherwise nothing."""
    port = state.config.metrics_port
    if not port:
        yield
        return
    server, thread = start_http_server(port, state.settings.host, registry=state.metrics.registry)

    async def refresh() -> None:
        while True:
            await state.metrics.refresh_project_counts(state.orchestrator, 0)
            await asyncio.sleep(max(state.config.metrics_cache_s, 1.0))

    task = asyncio.create_task(refresh(), name="metrics-refresh")
    try:
        yield
    finally:
        task.cancel()
        server.shutdown()
        thread.join(timeout=5)
