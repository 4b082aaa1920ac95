"""What a run writes as it goes: state changes, progress, its end, and its stage tasks.

Every state change and the end of a run are persisted before they are published to watchers;
progress is published at once and persisted at a bounded rate (pollers and watchers on other
replicas see it too, without a database write per frame). States never move backwards.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from lumiere.v1 import animator_pb2, common_pb2, concept_pb2, orchestrator_pb2, seeder_pb2

from services.common import stages
from services.common.stages import ACTIVE_STATES, STATE_RANK, StageValue, StateValue
from services.orchestrator.clock import now
from services.orchestrator.db import ProjectDB
from services.orchestrator.events import Hub
from services.orchestrator.retry import OnAttempt, StageError
from services.orchestrator.rows import ProjectRow, RunKindValue, TaskKey, TaskRow
from services.orchestrator.task_db import TaskDB
from services.orchestrator.timeline import PlannedSegment

T = TypeVar("T")
PS = orchestrator_pb2.ProjectState

# Stages whose outputs both run kinds share (a preview's concept and keyframes are the full
# video's too): their tasks are recorded under RUN_KIND_FULL.
_SHARED_STAGES = frozenset({common_pb2.STAGE_CONCEPT, common_pb2.STAGE_SEEDER})


class TaskLog:
    """The stage task rows of one run (fenced by its lease)."""

    def __init__(self, db: TaskDB, owner: str, project_id: str) -> None:
        self.db = db
        self.owner = owner
        self.project_id = project_id
        self._begun: dict[TaskKey, float] = {}

    async def call(self, key: TaskKey, call: Callable[[OnAttempt], Awaitable[T]]) -> T:
        """`call(on_attempt)` as task `key`: every attempt is recorded, and so is a failure for
        good; the caller records success with `done` (with what the task made)."""
        self._begun[key] = now()
        try:
            return await call(lambda replica: self._attempt(key, replica))
        except StageError as exc:
            await asyncio.to_thread(
                self.db.failed,
                self.owner,
                self.project_id,
                key,
                self._seconds(key),
                now(),
                exc.message,
                exc.retryable,
            )
            raise

    async def done(
        self, key: TaskKey, output: bytes | None = None, input_hash: str | None = None
    ) -> None:
        await asyncio.to_thread(
            self.db.done,
            self.owner,
            self.project_id,
            key,
            self._seconds(key),
            now(),
            output,
            input_hash,
        )

    async def existing(self, stage: StageValue, kind: RunKindValue) -> dict[int, TaskRow]:
        rows = await asyncio.to_thread(self.db.get, self.project_id, stage, kind)
        return {t.key.idx: t for t in rows}

    async def plan(
        self,
        stage: StageValue,
        kind: RunKindValue,
        count: int,
        reused: list[int],
        pending: dict[int, str],
    ) -> None:
        """A fan-out of `count` tasks: reused ones, pending ones (index -> input hash); tasks of
        a longer earlier plan are dropped."""
        await asyncio.to_thread(
            self.db.plan, self.owner, self.project_id, stage, kind, count, reused, pending
        )

    async def _attempt(self, key: TaskKey, replica: str) -> None:
        await asyncio.to_thread(self.db.started, self.owner, self.project_id, key, replica, now())

    def _seconds(self, key: TaskKey) -> float:
        """Wall time since the task's first attempt began (its record ends with this)."""
        begun = self._begun.pop(key, None)
        return now() - begun if begun is not None else 0.0


@dataclass
class Run:
    """One run of a project on this replica, and what its steps have made so far."""

    row: ProjectRow
    state: StateValue
    # FULL or PREVIEW: which video the run makes (a regenerate makes the full one again).
    kind: RunKindValue
    tasks: TaskLog
    last_persist: float = 0.0
    concept: concept_pb2.Concept | None = None
    keyframes: seeder_pb2.GenerateKeyframesResult | None = None
    video: common_pb2.VideoSettings = field(default_factory=common_pb2.VideoSettings)
    plan: list[PlannedSegment] = field(default_factory=list)
    segments: list[animator_pb2.Segment] = field(default_factory=list)

    @property
    def project_id(self) -> str:
        return self.row.id

    @property
    def preview(self) -> bool:
        return self.kind == common_pb2.RUN_KIND_PREVIEW

    def task_kind(self, stage: StageValue) -> RunKindValue:
        """The run kind a stage's tasks are recorded under in this run."""
        return common_pb2.RUN_KIND_FULL if stage in _SHARED_STAGES else self.kind

    def task_key(self, stage: StageValue, idx: int = 0) -> TaskKey:
        return TaskKey(stage, self.task_kind(stage), idx)


class RunReporter:
    def __init__(
        self,
        db: ProjectDB,
        hub: Hub,
        owner: str,
        persist_every_s: float,
        on_finishing: Callable[[str], None],
    ) -> None:
        self.db = db
        self.hub = hub
        self.owner = owner
        self.persist_every_s = persist_every_s
        # Called just before a run's final write (which also drops its lease).
        self.on_finishing = on_finishing

    async def reached(self, run: Run, state: StateValue, message: str) -> None:
        """A state change: the end of the stage that reaches `state` (or the start of the run)."""
        if run.state in ACTIVE_STATES and STATE_RANK[state] <= STATE_RANK[run.state]:
            # A resumed run passes finished steps again: the state never moves backwards.
            return
        ended = stages.STAGE_ENDED_BY.get(state)
        first = stages.PIPELINE[0]
        progress = common_pb2.Progress(
            stage=(ended or first).name,
            fraction=ended.span[1] if ended is not None else first.span[0],
            message=message,
        )
        await asyncio.to_thread(
            self.db.save_state, run.project_id, self.owner, state, progress, now()
        )
        run.state = state
        run.last_persist = time.monotonic()
        self._publish(run.project_id, state, progress, message)

    async def progress(
        self,
        run: Run,
        stage: StageValue,
        within: float,
        message: str,
        done: int = 0,
        total: int = 0,
    ) -> None:
        """A stage's own progress (0..1), as a share of the whole run."""
        progress = common_pb2.Progress(
            stage=stages.stage_name(stage),
            fraction=stages.overall_fraction(stage, within),
            message=message,
            done=done,
            total=total,
        )
        self._publish(run.project_id, run.state, progress, message)
        if time.monotonic() - run.last_persist >= self.persist_every_s:
            run.last_persist = time.monotonic()
            await asyncio.to_thread(
                self.db.save_progress, run.project_id, self.owner, progress, now()
            )

    async def completed(self, run: Run, message: str) -> None:
        last = stages.PIPELINE[-1]
        progress = common_pb2.Progress(stage=last.name, fraction=1.0, message=message)
        self.on_finishing(run.project_id)
        await asyncio.to_thread(self.db.finish, run.project_id, self.owner, progress, now())
        run.state = PS.PROJECT_STATE_COMPLETED
        self._publish(run.project_id, PS.PROJECT_STATE_COMPLETED, progress, message)

    async def failed(
        self, project_id: str, stage: StageValue, message: str, retryable: bool
    ) -> None:
        """The run failed for good in `stage` (UNSPECIFIED: in the orchestrator itself)."""
        progress = common_pb2.Progress(
            stage=stages.stage_name(stage) or "orchestrator", message=message
        )
        self.on_finishing(project_id)
        await asyncio.to_thread(
            self.db.fail, project_id, self.owner, stage, message, retryable, progress, now()
        )
        self._publish(project_id, PS.PROJECT_STATE_FAILED, progress, message)

    def _publish(
        self, project_id: str, state: StateValue, progress: common_pb2.Progress, message: str
    ) -> None:
        self.hub.publish(
            orchestrator_pb2.WatchProjectEvent(
                project_id=project_id, state=state, progress=progress, message=message
            )
        )
