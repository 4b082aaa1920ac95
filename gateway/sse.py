"""Server-Sent Events: the wire framing, and one project's progress as an event stream.

Events: `project` (the full project JSON, first and last), `state` (status changed), `progress`
(same status, new progress), `end` (terminal state reached, the stream closes), `error` (the
orchestrator stream broke). Keep-alive comments go out while nothing happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import grpc
from lumiere.v1 import orchestrator_pb2 as opb
from starlette.requests import Request

from gateway.errors import http_status, rpc_detail
from gateway.follow import ProjectFollower
from gateway.orchestrator_client import OrchestratorClient
from gateway.views import TERMINAL_STATES, event_json, project_json, state_name, state_rank
from services.common import stages

# How long EventSource waits before reconnecting, milliseconds.
RETRY_MS = 3000
KEEPALIVE = b": keep-alive\n\n"


def sse_message(event: str, data: dict[str, Any], event_id: int | None = None) -> bytes:
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append(f"event: {event}")
    lines.append(f"data: {json.dumps(data, separators=(',', ':'))}")
    return ("\n".join(lines) + "\n\n").encode()


async def project_events(
    orchestrator: OrchestratorClient,
    follower: ProjectFollower,
    project: opb.Project,
    queue: asyncio.Queue[Any],
    request: Request,
    keepalive_s: float,
) -> AsyncIterator[bytes]:
    """A project's events as SSE, from the follower's shared WatchProject stream.

    `queue` is this client's subscription (taken before the `project` snapshot, so no change
    falls between the two); it is released when the stream ends, however it ends.
    """
    project_id = project.id
    try:
        yield f"retry: {RETRY_MS}\n\n".encode()
        yield sse_message("project", project_json(project), 0)
        status = state_name(project.state)
        if status in TERMINAL_STATES:
            yield sse_message("end", {"status": status}, 1)
            return
        n = 1
        last_status = status
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), timeout=keepalive_s)
            except TimeoutError:
                if await request.is_disconnected():
                    return
                yield KEEPALIVE
                continue
            if isinstance(item, grpc.aio.AioRpcError):
                detail = {"status": http_status(item), "detail": rpc_detail(item)}
                yield sse_message("error", detail, n + 1)
                return
            if item is None:
                # The shared stream ended without a final state (orchestrator restart...):
                # close; EventSource reconnects after `retry` and subscribes again.
                return
            if state_rank(item.state) < state_rank(stages.state_value(last_status)):
                continue  # older than the snapshot this stream started from
            data = event_json(item)
            kind = "state" if data["status"] != last_status else "progress"
            last_status = data["status"]
            n += 1
            yield sse_message(kind, data, n)
            if last_status in TERMINAL_STATES:
                with contextlib.suppress(grpc.aio.AioRpcError):
                    final = await orchestrator.get(project_id)
                    n += 1
                    yield sse_message("project", project_json(final), n)
                yield sse_message("end", {"status": last_status}, n + 1)
                return
    finally:
        follower.unsubscribe(project_id, queue)
