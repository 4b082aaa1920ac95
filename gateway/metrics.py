"""Prometheus metrics: HTTP requests, stage durations, render frames/s, failures, queue depth.

Each app has its own registry (tests build many apps in one process). Request metrics come from
an ASGI middleware labelled by route template (not raw path, which would explode cardinality).
Stage durations and frames/s come from `StageTracker`, which follows every project the gateway
starts; project counts by state (queue depth, failures) are read from the orchestrator at scrape
time, cached for a few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter as Tally
from typing import Any

import grpc
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.views import ACTIVE_STATES, state_name

log = logging.getLogger(__name__)

# A finished stage: the state reached -> the stage that just ended.
STAGE_ENDED_BY = {
    "concept_generated": "concept",
    "seeds_generated": "seeder",
    "animations_generated": "animator",
    "completed": "compose",
}


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
            method = scope.get("method", "GET")
            self.metrics.requests.labels(method, path, str(status)).inc()
            self.metrics.latency.labels(method, path).observe(time.perf_counter() - start)


class StageTracker:
    """Follows each processing project's WatchProject stream to time its stages.

    One task per project, started when the gateway starts (or sees) processing; a restarted
    gateway simply misses the stages that ran while it was down.
    """

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.tasks: dict[str, asyncio.Task[None]] = {}

    def track(self, orchestrator: Any, project_id: str) -> None:
        task = self.tasks.get(project_id)
        if task is not None and not task.done():
            return
        self.tasks[project_id] = asyncio.create_task(self._follow(orchestrator, project_id))

    async def _follow(self, orchestrator: Any, project_id: str) -> None:
        last_state = ""
        since = time.monotonic()
        anim_started = since
        try:
            async for event in orchestrator.watch(project_id):
                state = state_name(event.state)
                if state == last_state:
                    continue
                now = time.monotonic()
                if last_state:  # the first event is the current state, not a transition
                    stage = STAGE_ENDED_BY.get(state)
                    if stage is not None:
                        self.metrics.stage_seconds.labels(stage=stage).observe(now - since)
                    if state == "animations_generated":
                        await self._record_fps(orchestrator, project_id, now - anim_started)
                if state == "seeds_generated":
                    anim_started = now
                last_state, since = state, now
                if state in ("completed", "failed", "cancelled"):
                    await self._finish(orchestrator, project_id, state)
                    break
        except grpc.aio.AioRpcError as exc:
            log.debug("stage tracking of %s ended: %s", project_id, exc.code())
        except asyncio.CancelledError:
            raise
        finally:
            self.tasks.pop(project_id, None)

    async def _finish(self, orchestrator: Any, project_id: str, state: str) -> None:
        """Per-task times and retries of the run that just ended (from Project.tasks)."""
        with contextlib.suppress(grpc.aio.AioRpcError):
            project = await orchestrator.get(project_id)
            if state == "failed":
                self.metrics.failures.labels(stage=project.failed_stage or "unknown").inc()
            for task in project.tasks:
                if task.status == "done" and task.seconds > 0:
                    self.metrics.task_seconds.labels(stage=task.stage).observe(task.seconds)
                if task.attempts > 1:
                    self.metrics.task_retries.labels(stage=task.stage).inc(task.attempts - 1)

    async def _record_fps(self, orchestrator: Any, project_id: str, seconds: float) -> None:
        with contextlib.suppress(grpc.aio.AioRpcError):
            project = await orchestrator.get(project_id)
            frames = sum(s.end_frame - s.start_frame for s in project.segments)
            if frames <= 0 and project.options.fps > 0:
                frames = round(project.concept.duration_seconds * project.options.fps)
            if frames > 0 and seconds > 0:
                self.metrics.render_fps.set(frames / seconds)
                self.metrics.frames.inc(frames)

    async def close(self) -> None:
        for task in list(self.tasks.values()):
            task.cancel()
        for task in list(self.tasks.values()):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
