"""Live progress of one project as Server-Sent Events (framing in `gateway.sse`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from gateway.api.deps import CurrentPrincipal, ProjectDep, StateDep, load_project
from gateway.api.prefix import API_PREFIX
from gateway.api.responses import PROJECT_ERRORS
from gateway.sse import project_events

router = APIRouter(
    prefix=f"{API_PREFIX}/projects/{{project_id}}", tags=["projects"], responses=PROJECT_ERRORS
)


@router.get(
    "/events",
    summary="Live progress as Server-Sent Events",
    description=(
        "Events: `project` (the full project JSON, first and last), `state` (status "
        "changed), `progress` (stage progress), `end` (terminal state reached, stream "
        "closes). Keep-alive comments every few seconds."
    ),
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def project_event_stream(
    who: CurrentPrincipal, project: ProjectDep, state: StateDep, request: Request
) -> StreamingResponse:
    follower, orchestrator = state.follower, state.orchestrator
    # Subscribe before taking the snapshot so that no change falls between the two.
    queue = follower.subscribe(orchestrator, project)
    try:
        snapshot = await load_project(state, project.id, who, live=True)
    except BaseException:
        follower.unsubscribe(project.id, queue)
        raise
    return StreamingResponse(
        project_events(
            orchestrator, follower, snapshot, queue, request, state.config.sse_keepalive_s
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
