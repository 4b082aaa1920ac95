"""Live project events: in-process fan-out to WatchProject streams, and the state order."""

from __future__ import annotations

import asyncio
import contextlib

from lumiere.v1 import orchestrator_pb2

PS = orchestrator_pb2.ProjectState
# Pipeline order of states; a watcher never sees the state go backwards within a run.
STATE_RANK = {
    PS.PROJECT_STATE_CREATED: 0,
    PS.PROJECT_STATE_PROCESSING: 1,
    PS.PROJECT_STATE_CONCEPT_GENERATED: 2,
    PS.PROJECT_STATE_SEEDS_GENERATED: 3,
    PS.PROJECT_STATE_ANIMATIONS_GENERATED: 4,
    PS.PROJECT_STATE_COMPLETED: 5,
    PS.PROJECT_STATE_FAILED: 5,
    PS.PROJECT_STATE_CANCELLED: 5,
}


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
