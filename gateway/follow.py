"""Following running projects: a watch-backed status cache and the pipeline metrics.

For every project that is running and that this gateway started (or was asked about), one task
follows its WatchProject stream. Each event patches a cached copy of the project (state and
progress); a state change re-reads the whole project once. Status requests for followed
projects are then answered from memory, without a gRPC round trip to an orchestrator that is
sharing the machine with a render. The same stream times the stages for /metrics.

A followed entry is only served while its stream is alive; when the stream ends (terminal state,
orchestrator restart, gateway shutdown) the entry is dropped and reads go to the orchestrator.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any, Protocol

import grpc
from lumiere.v1 import common_pb2
from lumiere.v1 import orchestrator_pb2 as opb

from gateway.metrics import Metrics
from gateway.views import TERMINAL_STATES, state_name, state_rank
from services.common import stages

log = logging.getLogger(__name__)

# A finished stage: the state reached -> the stage that just ended.
STAGE_ENDED_BY = {
    stages.state_name(state): spec.name for state, spec in stages.STAGE_ENDED_BY.items()
}
# The animation stage runs from the state its predecessor reaches to the one it reaches
# (frames/s is measured over it).
_ANIMATOR = stages.BY_STAGE[common_pb2.STAGE_ANIMATOR]
ANIMATION_STARTS = stages.state_name(stages.PIPELINE[stages.PIPELINE.index(_ANIMATOR) - 1].reaches)
ANIMATION_ENDS = stages.state_name(_ANIMATOR.reaches)
CREATED = stages.state_name(stages.RUN_STATES[0])
FAILED = stages.state_name(opb.PROJECT_STATE_FAILED)


class ProjectSource(Protocol):
    """What following needs of the orchestrator (gateway.orchestrator_client, or a stub)."""

    async def get(self, project_id: str) -> opb.Project: ...

    def watch(self, project_id: str) -> AsyncIterator[opb.WatchProjectEvent]: ...


class ProjectFollower:
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self._cache: dict[str, opb.Project] = {}
        # SSE clients of each project: each gets every event, then None when the stream ends.
        self._subscribers: dict[str, set[asyncio.Queue[Any]]] = {}

    def follow(
        self, orchestrator: ProjectSource, project: opb.Project, just_started: bool = False
    ) -> None:
        """Start following a project (no-op when already followed or finished).

        `just_started`: this gateway started the run a moment ago, so the current stage's
        duration can be measured from now.
        """
        self.update(project)
        task = self.tasks.get(project.id)
        if task is not None and not task.done():
            return
        if state_name(project.state) in TERMINAL_STATES:
            return
        started = time.monotonic() if just_started else None
        self.tasks[project.id] = asyncio.create_task(
            self._follow(orchestrator, project.id, started)
        )

    def subscribe(self, orchestrator: ProjectSource, project: opb.Project) -> asyncio.Queue[Any]:
        """Events of a project for one SSE client, from the shared stream (one per project).

        The queue gets WatchProjectEvents (after the cached copy has caught up with them, so a
        client that reacts to an event by reading the project sees what the event announced),
        an AioRpcError if the stream broke, and None at the end.
        """
        queue: asyncio.Queue[Any] = asyncio.Queue()
        self._subscribers.setdefault(project.id, set()).add(queue)
        self.follow(orchestrator, project)
        return queue

    def unsubscribe(self, project_id: str, queue: asyncio.Queue[Any]) -> None:
        subs = self._subscribers.get(project_id)
        if subs is None:
            return
        subs.discard(queue)
        if subs:
            return
        del self._subscribers[project_id]
        # A project nobody runs and nobody watches: don't keep a stream open for it.
        cached = self._cache.get(project_id)
        if cached is not None and state_name(cached.state) == CREATED:
            self.forget(project_id)

    def subscribers(self, project_id: str) -> int:
        return len(self._subscribers.get(project_id, ()))

    def _broadcast(self, project_id: str, item: Any) -> None:
        for queue in self._subscribers.get(project_id, ()):
            queue.put_nowait(item)

    def update(self, project: opb.Project) -> None:
        """A newer copy from an RPC answer (process, cancel...): keep the cache current."""
        if project.id in self._cache:
            self._cache[project.id] = project

    def cached(self, project_id: str) -> opb.Project | None:
        """The live copy of a followed project, or None (then ask the orchestrator)."""
        task = self.tasks.get(project_id)
        if task is None or task.done():
            return None
        return self._cache.get(project_id)

    def forget(self, project_id: str) -> None:
        self._cache.pop(project_id, None)
        task = self.tasks.pop(project_id, None)
        if task is not None:
            task.cancel()

    async def _follow(
        self, orchestrator: ProjectSource, project_id: str, started: float | None
    ) -> None:
        last_state = ""
        # When the running stage started, if we saw it start (not when we joined mid-stage).
        stage_started: float | None = started
        anim_started: float | None = None
        try:
            async for event in orchestrator.watch(project_id):
                state = state_name(event.state)
                now = time.monotonic()
                if state != last_state:
                    # New state, new results (concept, keyframes, segments): until they are
                    # re-read, status reads go to the orchestrator.
                    self._cache.pop(project_id, None)
                    if last_state and stage_started is not None and state in STAGE_ENDED_BY:
                        stage = STAGE_ENDED_BY[state]
                        self.metrics.stage_seconds.labels(stage=stage).observe(now - stage_started)
                    if state == ANIMATION_ENDS and anim_started is not None:
                        await self._record_fps(orchestrator, project_id, now - anim_started)
                    # The first event is the state we joined in: its stage began before we
                    # looked, unless we started the run ourselves.
                    stage_started = now if last_state else started
                    if state == ANIMATION_STARTS:
                        anim_started = stage_started
                    last_state = state
                    if state in TERMINAL_STATES:
                        await self._finish(orchestrator, project_id, state)
                        self._broadcast(project_id, event)
                        break
                    self._cache[project_id] = await orchestrator.get(project_id)
                cached = self._cache.get(project_id)
                # The re-read may already be ahead of events still queued behind it.
                if cached is not None and state_rank(event.state) >= state_rank(cached.state):
                    cached.state = event.state
                    cached.progress.CopyFrom(event.progress)
                self._broadcast(project_id, event)
        except grpc.aio.AioRpcError as exc:
            log.debug("following %s ended: %s", project_id, exc.code())
            self._broadcast(project_id, exc)
        finally:
            self._cache.pop(project_id, None)
            self._broadcast(project_id, None)
            if self.tasks.get(project_id) is asyncio.current_task():
                del self.tasks[project_id]

    async def _finish(self, orchestrator: ProjectSource, project_id: str, state: str) -> None:
        """Per-task times and retries of the run that just ended (from Project.tasks)."""
        with contextlib.suppress(grpc.aio.AioRpcError):
            project = await orchestrator.get(project_id)
            if state == FAILED:
                self.metrics.failures.labels(
                    stage=stages.stage_name(project.failed_stage) or "unknown"
                ).inc()
            for task in project.tasks:
                label = stages.stage_name(task.stage)
                if task.status == common_pb2.TASK_STATUS_DONE and task.seconds > 0:
                    self.metrics.task_seconds.labels(stage=label).observe(task.seconds)
                if task.attempts > 1:
                    self.metrics.task_retries.labels(stage=label).inc(task.attempts - 1)

    async def _record_fps(
        self, orchestrator: ProjectSource, project_id: str, seconds: float
    ) -> None:
        with contextlib.suppress(grpc.aio.AioRpcError):
            project = await orchestrator.get(project_id)
            frames = sum(s.end_frame - s.start_frame for s in project.segments)
            if frames <= 0 and project.options.fps > 0:
                frames = round(project.concept.duration_seconds * project.options.fps)
            if frames > 0 and seconds > 0:
                self.metrics.render_fps.set(frames / seconds)
                self.metrics.frames.inc(frames)

    async def close(self) -> None:
        tasks = list(self.tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
