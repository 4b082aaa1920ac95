"""WatchProject on a finished project with a run queued behind it (regenerate, resume)."""

from __future__ import annotations

import asyncio
import dataclasses

from lumiere.v1 import orchestrator_pb2

from services.orchestrator.events import Hub
from services.orchestrator.rows import ProjectRow
from services.orchestrator.watch import watch

PS = orchestrator_pb2.ProjectState


def _row(state: int, queued: bool) -> ProjectRow:
    fields = {f.name: None for f in dataclasses.fields(ProjectRow)}
    fields.update(
        id="p1",
        prompt="",
        state=state,
        spec=orchestrator_pb2.Project(),
        error="",
        error_retryable=False,
        created_at=0.0,
        updated_at=0.0,
        claims=0,
        processed_by="",
        run_requested_at=1.0 if queued else None,
    )
    return ProjectRow(**fields)  # type: ignore[arg-type]


def _event(state: int) -> orchestrator_pb2.WatchProjectEvent:
    return orchestrator_pb2.WatchProjectEvent(project_id="p1", state=state)


async def test_the_old_runs_ending_does_not_end_the_watch_of_a_queued_run() -> None:
    hub = Hub()
    rows = [_row(PS.PROJECT_STATE_COMPLETED, queued=True)]

    async def read(_: str) -> ProjectRow:
        return rows[-1]

    seen: list[int] = []

    async def follow() -> None:
        async for event in watch("p1", hub, read, poll_s=5.0):
            seen.append(event.state)

    task = asyncio.create_task(follow())
    await asyncio.sleep(0.01)
    hub.publish(_event(PS.PROJECT_STATE_COMPLETED))  # published by the old run, arriving late
    await asyncio.sleep(0.01)
    assert not task.done()
    rows.append(_row(PS.PROJECT_STATE_SEEDS_GENERATED, queued=True))
    # The queued run starts again from the bottom.
    hub.publish(_event(PS.PROJECT_STATE_SEEDS_GENERATED))
    rows.append(_row(PS.PROJECT_STATE_COMPLETED, queued=False))
    hub.publish(_event(PS.PROJECT_STATE_COMPLETED))
    await asyncio.wait_for(task, 1.0)
    assert seen == [
        PS.PROJECT_STATE_COMPLETED,
        PS.PROJECT_STATE_SEEDS_GENERATED,
        PS.PROJECT_STATE_COMPLETED,
    ]


async def test_a_finished_project_without_a_queued_run_ends_at_once() -> None:
    async def read(_: str) -> ProjectRow:
        return _row(PS.PROJECT_STATE_COMPLETED, queued=False)

    seen = [e.state async for e in watch("p1", Hub(), read, poll_s=5.0)]
    assert seen == [PS.PROJECT_STATE_COMPLETED]
