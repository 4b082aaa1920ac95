"""The storyboard (the shot plan) of a project: read it, edit it, regenerate one shot."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from lumiere.v1 import orchestrator_pb2 as opb
from pydantic import BaseModel, Field

from gateway.api.deps import FollowerDep, LiveProjectDep, OrchestratorDep, ProjectDep
from gateway.api.prefix import API_PREFIX
from gateway.api.responses import PROJECT_ERRORS
from gateway.api.runs import run_started
from gateway.forms import MAX_PROMPT_CHARS, MAX_SEED
from gateway.storyboards import has_storyboard, storyboard_from_json, storyboard_view
from gateway.views import state_name
from services.common.errors import FailedPrecondition, InvalidInput, NotFound

router = APIRouter(
    prefix=f"{API_PREFIX}/projects/{{project_id}}", tags=["storyboard"], responses=PROJECT_ERRORS
)


class RegenerateRequest(BaseModel):
    """Exactly one of `segment` (index) and `shot` (index or id)."""

    segment: int | None = Field(default=None, ge=0, le=2**31 - 1)
    shot: int | str | None = Field(default=None, description="shot index or id")
    prompt: str = Field(default="", max_length=MAX_PROMPT_CHARS, description="re-draw with it")
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)


def _plan(project: opb.Project) -> None:
    if not has_storyboard(project):
        raise NotFound(
            f"project {project.id} has no storyboard yet (it is {state_name(project.state)}); "
            "it exists once the concept is generated"
        )


@router.get(
    "/storyboard",
    summary="The shot plan: per shot its time, frames, bars, section, "
    "framing, move, look, prompt and keyframe",
)
async def get_storyboard(project: LiveProjectDep) -> dict[str, Any]:
    _plan(project)
    return storyboard_view(project)


@router.put(
    "/storyboard",
    summary="Replace the shot plan with an edited one (the next process re-renders only what "
    "changed)",
    responses={400: {}, 404: {}, 409: {}},
)
async def put_storyboard(
    project: ProjectDep,
    orchestrator: OrchestratorDep,
    body: Annotated[dict[str, Any], Body(description="the storyboard's shape (GET), edited")],
) -> dict[str, Any]:
    if not project.HasField("concept"):
        raise FailedPrecondition(
            f"project {project.id} has no storyboard yet: process it first, or create a "
            "project with a storyboard"
        )
    board = storyboard_from_json(body, project.concept.storyboard)
    updated = await orchestrator.update_storyboard(project.id, board)
    return storyboard_view(updated)


def shot_id_of(project: opb.Project, shot: int | str) -> str:
    """A shot named by index or id, as its id (or InvalidInput naming what exists)."""
    shots = project.concept.storyboard.shots
    if isinstance(shot, int):
        if not 0 <= shot < len(shots):
            raise InvalidInput(
                f"shot {shot} does not exist; the storyboard has {len(shots)} shots "
                f"(0..{max(len(shots) - 1, 0)})"
            )
        return str(shots[shot].id)
    if not any(s.id == shot for s in shots):
        raise InvalidInput(f"shot {shot!r} is not in the storyboard")
    return shot


@router.post(
    "/regenerate",
    status_code=202,
    summary="Re-render one segment, or one shot (re-draw its keyframe, re-render its segment), "
    "and re-compose",
    responses={400: {}, 404: {}, 409: {}},
)
async def regenerate(
    project: ProjectDep,
    orchestrator: OrchestratorDep,
    follower: FollowerDep,
    body: RegenerateRequest,
) -> dict[str, Any]:
    if (body.segment is None) == (body.shot is None):
        raise InvalidInput("give exactly one of 'segment' (an index) and 'shot' (index or id)")
    shot_id = ""
    if body.shot is not None:
        if not has_storyboard(project):
            raise FailedPrecondition(f"project {project.id} has no storyboard yet")
        shot_id = shot_id_of(project, body.shot)
    elif project.segments and body.segment is not None and body.segment >= len(project.segments):
        count = len(project.segments)
        raise InvalidInput(
            f"segment {body.segment} does not exist; the project has {count} segments "
            f"(0..{count - 1})"
        )
    started = await orchestrator.regenerate(
        project.id, body.segment or 0, prompt=body.prompt.strip(), seed=body.seed, shot_id=shot_id
    )
    return run_started(follower, orchestrator, started)
