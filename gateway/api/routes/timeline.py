"""The timeline of a project (music, shots and their live state) and the song's waveform."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query

from gateway.api.deps import ProjectDep, StoreDep
from gateway.api.prefix import API_PREFIX
from gateway.timeline import timeline_view
from gateway.waveform import DEFAULT_POINTS, MAX_POINTS, stored_waveform
from services.common.errors import NotFound

router = APIRouter(prefix=f"{API_PREFIX}/projects/{{project_id}}", tags=["timeline"])


@router.get(
    "/timeline",
    summary="The timeline: beats, downbeats, sections, lyric lines and the shots with their "
    "state (one of `shot_states`)",
)
async def get_timeline(project: ProjectDep) -> dict[str, Any]:
    # Not the followed copy: that one is refreshed on state changes only, and the shots'
    # states change within a stage.
    return timeline_view(project)


@router.get(
    "/waveform",
    summary="The song's waveform: `points` peak levels (0..1) evenly spaced over its duration",
    responses={404: {}},
)
async def get_waveform(
    project: ProjectDep,
    store: StoreDep,
    points: Annotated[int, Query(ge=1, le=MAX_POINTS)] = DEFAULT_POINTS,
) -> dict[str, object]:
    if not project.audio.key:
        raise NotFound(f"project {project.id} has no song")
    return await asyncio.to_thread(
        stored_waveform, store, project.audio.key, project.audio.sha256, points
    )
