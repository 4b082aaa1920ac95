"""WatchProject: the current state first, then every change until the project finishes.

Events of runs on this replica arrive through the hub; runs on other replicas are seen by
polling the database (state changes are always persisted, progress at a bounded rate).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from lumiere.v1 import orchestrator_pb2

from services.common.errors import NotFound
from services.common.stages import STATE_RANK, TERMINAL_STATES
from services.orchestrator.events import Hub, event_from_row, event_key
from services.orchestrator.rows import ProjectRow

PS = orchestrator_pb2.ProjectState


async def watch(
    project_id: str,
    hub: Hub,
    read: Callable[[str], Awaitable[ProjectRow | None]],
    poll_s: float,
) -> AsyncIterator[orchestrator_pb2.WatchProjectEvent]:
    queue = hub.subscribe(project_id)
    try:
        row = await read(project_id)
        if row is None:
            raise NotFound(f"project {project_id} not found")
        first = event_from_row(row)
        yield first
        last_key = event_key(first)
        rank = STATE_RANK.get(first.state, 0)
        if first.state in TERMINAL_STATES and row.run_requested_at is None:
            return
        # A run is queued behind a finished one (resume, regenerate): its states start again from
        # the bottom, and a terminal event is the old run's until the new one has shown itself
        # (an active state) or the row says it is over.
        queued = first.state in TERMINAL_STATES
        if queued:
            rank = 0
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), timeout=poll_s)
            except TimeoutError:
                fresh = await read(project_id)
                if fresh is None:
                    yield orchestrator_pb2.WatchProjectEvent(
                        project_id=project_id,
                        state=PS.PROJECT_STATE_CANCELLED,
                        message="project deleted",
                    )
                    return
                event = event_from_row(fresh)
                if event_key(event) == last_key:
                    continue
            if queued and event.state in TERMINAL_STATES:
                fresh = await read(project_id)
                if fresh is not None and fresh.run_requested_at is not None:
                    continue  # the old run's ending; the queued run has not started yet
            # An event published before our snapshot can arrive after it; never go back.
            if STATE_RANK.get(event.state, 0) < rank:
                continue
            queued = queued and event.state in TERMINAL_STATES
            rank = STATE_RANK.get(event.state, 0)
            last_key = event_key(event)
            yield event
            if event.state in TERMINAL_STATES:
                return
    finally:
        hub.unsubscribe(project_id, queue)
