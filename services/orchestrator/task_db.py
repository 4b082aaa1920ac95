"""Stage tasks in SQL: one row per stage call or segment render of a project, written by the
run that holds the project's lease (each write is fenced by it, like the project's own)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from lumiere.v1 import common_pb2
from sqlalchemy.engine import Engine

from services.common import stages
from services.common.stages import StageValue
from services.orchestrator.fencing import LeaseLost, lease_held
from services.orchestrator.rows import RunKindValue, TaskKey, TaskRow, task_from_row
from services.orchestrator.schema import projects, tasks

_PENDING = stages.task_status_name(common_pb2.TASK_STATUS_PENDING)
_RUNNING = stages.task_status_name(common_pb2.TASK_STATUS_RUNNING)
_DONE = stages.task_status_name(common_pb2.TASK_STATUS_DONE)
_FAILED = stages.task_status_name(common_pb2.TASK_STATUS_FAILED)

# A task update: column values to set, and counters to add to (in SQL, never read-modify-write).
_TaskUpdate = tuple[int, Mapping[Any, Any], Mapping[Any, int]]


class TaskDB:
    """Synchronous, like ProjectDB (which holds one as `.tasks`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(
        self,
        project_id: str,
        stage: StageValue | None = None,
        run_kind: RunKindValue | None = None,
    ) -> list[TaskRow]:
        query = sa.select(tasks).where(tasks.c.project_id == project_id)
        if stage is not None:
            query = query.where(tasks.c.stage == stages.stage_name(stage))
        if run_kind is not None:
            query = query.where(tasks.c.run_kind == stages.run_kind_name(run_kind))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [task_from_row(r) for r in rows]

    def started(self, owner: str, project_id: str, key: TaskKey, replica: str, now: float) -> None:
        """One more attempt of a task begins, on `replica`."""
        self._upsert(
            owner,
            project_id,
            key.stage,
            key.run_kind,
            [
                (
                    key.idx,
                    {tasks.c.status: _RUNNING, tasks.c.replica: replica, tasks.c.started_at: now},
                    {tasks.c.attempts: 1},
                )
            ],
        )

    def done(
        self,
        owner: str,
        project_id: str,
        key: TaskKey,
        seconds: float,
        now: float,
        output: bytes | None = None,
        input_hash: str | None = None,
    ) -> None:
        """A task rendered: clears its error and counts one render."""
        values: dict[Any, Any] = {
            tasks.c.status: _DONE,
            tasks.c.error: "",
            tasks.c.retryable: False,
            tasks.c.finished_at: now,
            tasks.c.seconds: seconds,
        }
        if output is not None:
            values[tasks.c.output] = output
        if input_hash is not None:
            values[tasks.c.input_hash] = input_hash
        self._upsert(
            owner, project_id, key.stage, key.run_kind, [(key.idx, values, {tasks.c.renders: 1})]
        )

    def failed(
        self,
        owner: str,
        project_id: str,
        key: TaskKey,
        seconds: float,
        now: float,
        error: str,
        retryable: bool,
    ) -> None:
        """A task failed for good: why, whether a retry may help, time taken."""
        values = {
            tasks.c.status: _FAILED,
            tasks.c.error: error,
            tasks.c.retryable: retryable,
            tasks.c.finished_at: now,
            tasks.c.seconds: seconds,
        }
        self._upsert(owner, project_id, key.stage, key.run_kind, [(key.idx, values, {})])

    def plan(
        self,
        owner: str,
        project_id: str,
        stage: StageValue,
        run_kind: RunKindValue,
        count: int,
        reused: Sequence[int],
        pending: Mapping[int, str],
    ) -> None:
        """One transaction for a fan-out of `count` tasks: `reused` ones count one reuse;
        `pending` ones (index -> input hash) wait to render, their last error cleared; tasks
        beyond `count` (an earlier, longer plan) are dropped."""
        updates: list[_TaskUpdate] = [(idx, {}, {tasks.c.reused: 1}) for idx in reused]
        updates += [
            (
                idx,
                {
                    tasks.c.status: _PENDING,
                    tasks.c.input_hash: inputs,
                    tasks.c.error: "",
                    tasks.c.retryable: False,
                },
                {},
            )
            for idx, inputs in pending.items()
        ]
        self._upsert(owner, project_id, stage, run_kind, updates, drop_from=count)

    def _upsert(
        self,
        owner: str,
        project_id: str,
        stage_value: StageValue,
        run_kind: RunKindValue,
        updates: Sequence[_TaskUpdate],
        drop_from: int | None = None,
    ) -> None:
        """Create or update task rows of one stage and run kind (and drop those with an index
        from `drop_from` on), in one transaction fenced by the project's lease."""
        stage, kind = stages.stage_name(stage_value), stages.run_kind_name(run_kind)
        with self.engine.begin() as conn:
            held = conn.execute(
                sa.select(projects.c.id).where(lease_held(project_id, owner))
            ).first()
            if held is None:
                raise LeaseLost(project_id)
            of_stage = (
                (tasks.c.project_id == project_id)
                & (tasks.c.run_kind == kind)
                & (tasks.c.stage == stage)
            )
            if drop_from is not None:
                conn.execute(tasks.delete().where(of_stage & (tasks.c.idx >= drop_from)))
            existing = {
                r[0]
                for r in conn.execute(
                    sa.select(tasks.c.idx).where(
                        of_stage, tasks.c.idx.in_([idx for idx, _, _ in updates])
                    )
                )
            }
            for idx, values, increments in updates:
                if idx in existing:
                    added = {column: column + inc for column, inc in increments.items()}
                    conn.execute(
                        tasks.update()
                        .where(of_stage & (tasks.c.idx == idx))
                        .values({**values, **added})
                    )
                    continue
                row: dict[Any, Any] = {
                    tasks.c.project_id: project_id,
                    tasks.c.run_kind: kind,
                    tasks.c.stage: stage,
                    tasks.c.idx: idx,
                    tasks.c.status: _PENDING,
                    tasks.c.attempts: 0,
                    tasks.c.reused: 0,
                    tasks.c.renders: 0,
                }
                conn.execute(tasks.insert().values({**row, **values, **increments}))
                existing.add(idx)
