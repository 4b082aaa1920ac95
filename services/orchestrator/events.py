"""Live project events: in-process fan-out to WatchProject streams, and events from rows."""

from __future__ import annotations

import asyncio
import contextlib

from lumiere.v1 import common_pb2, orchestrator_pb2

from services.orchestrator.rows import ProjectRow


class Hub:
    """In-process fan-out of events to WatchProject streams on this replica."""

    def __init__(self) -> None:
        self._subs: dict[str, set[asyncio.Queue[orchestrator_pb2.WatchProjectEvent]]] = {}

    def subscribe(self, project_id: str) -> asyncio.Queue[orchestrator_pb2.WatchProjectEvent]:
        queue: asyncio.Queue[orchestrator_pb2.WatchProjectEvent] = asyncio.Queue(maxsize=10_000)
        self._subs.setdefault(project_id, set()).add(queue)
        return queue

    def unsubscribe(
        self, project_id: str, queue: asyncio.Queue[orchestrator_pb2.WatchProjectEvent]
    ) -> None:
        subs = self._subs.get(project_id)
        if subs is not None:
            subs.discard(queue)
            if not subs:
                del self._subs[project_id]

    def publish(self, event: orchestrator_pb2.WatchProjectEvent) -> None:
        for queue in list(self._subs.get(event.project_id, ())):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(event)


def event_key(event: orchestrator_pb2.WatchProjectEvent) -> tuple[int, bytes, str]:
    return (event.state, event.progress.SerializeToString(deterministic=True), event.message)


def event_from_row(row: ProjectRow, message: str = "") -> orchestrator_pb2.WatchProjectEvent:
    """The project's stored state and progress as an event."""
    progress = row.progress or common_pb2.Progress()
    return orchestrator_pb2.WatchProjectEvent(
        project_id=row.id,
        state=row.state,
        progress=progress,
        message=message or row.error or progress.message,
    )
