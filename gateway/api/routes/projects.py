"""Projects: create (multipart upload), list, read, delete, and the runs (process, cancel,
preview, regenerate a segment)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any

import grpc
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi import Path as FastAPIPath
from fastapi.responses import JSONResponse, Response
from lumiere.v1 import orchestrator_pb2 as opb
from pydantic import BaseModel, Field
from starlette.requests import ClientDisconnect

from gateway import intake
from gateway.api.deps import (
    CurrentPrincipal,
    FollowerDep,
    LiveProjectDep,
    OrchestratorDep,
    OwnershipDep,
    ProjectDep,
    SecurityDep,
    StateDep,
    StoreDep,
)
from gateway.api.prefix import API_PREFIX
from gateway.api.responses import PROJECT_ERRORS
from gateway.api.runs import run_started
from gateway.errors import error_response
from gateway.forms import (
    MAX_PROMPT_CHARS,
    MAX_SEED,
    MAX_TEXT_FIELD_BYTES,
    TEXT_FIELDS,
    create_form_openapi,
    read_create_form,
)
from gateway.orchestrator_client import OrchestratorClient
from gateway.uploads import parse_multipart
from gateway.views import project_json
from services.common import contract
from services.common.errors import InvalidInput

router = APIRouter(prefix=f"{API_PREFIX}/projects", tags=["projects"], responses=PROJECT_ERRORS)


class RegenerateBody(BaseModel):
    prompt: str = Field(default="", max_length=MAX_PROMPT_CHARS, description="re-draw the keyframe")
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)


@router.post(
    "",
    status_code=201,
    summary="Create a project from a song, a prompt and optional images/lyrics",
    # The body is parsed by hand (streamed, with limits); `document_create_form` describes it.
    responses={400: {}, 401: {}, 413: {}, 415: {}, 422: {}, 429: {}, 503: {}},
)
async def create_project(request: Request, who: CurrentPrincipal, state: StateDep) -> JSONResponse:
    project_id = contract.new_project_id()
    limits, metrics = state.limits, state.metrics
    stored = False
    try:
        async with parse_multipart(
            request.headers.get("content-type"),
            request.headers.get("content-length"),
            request.stream(),
            file_limit=limits.file_limit,
            text_fields=TEXT_FIELDS,
            max_text_bytes=MAX_TEXT_FIELD_BYTES,
            max_body_bytes=limits.body_bytes,
            max_parts=limits.max_parts,
        ) as parsed:
            form = read_create_form(parsed)
            inspected = await intake.inspect(
                form, state.settings.max_audio_seconds, state.config.max_image_pixels
            )
            # Everything checks out: now (and only now) write to the shared store.
            stored = True
            files = await intake.store_files(state.store, project_id, form, inspected, limits)
        await state.ownership.record(project_id, who.owner)
        project = await _create(
            state.orchestrator,
            opb.CreateProjectRequest(
                project_id=project_id,
                prompt=form.prompt,
                audio=files.audio,
                character_images=files.images,
                options=form.options,
                lyrics=files.lyrics,
                storyboard=form.storyboard,
            ),
        )
    except BaseException as exc:
        reason = type(exc).__name__
        if isinstance(exc, grpc.aio.AioRpcError):
            reason = exc.code().name.lower()
        metrics.rejected_uploads.labels(reason=reason).inc()
        if stored:  # rejected after storing: leave nothing behind
            with contextlib.suppress(Exception):
                await asyncio.to_thread(
                    state.store.delete_prefix, contract.uploads_prefix(project_id)
                )
            state.ownership.forget(project_id)
        if isinstance(exc, ClientDisconnect):
            # The client went away mid-upload: nobody to answer, and not a server error.
            return error_response(400, "the client disconnected before the upload finished")
        raise
    metrics.upload_bytes.labels(kind="audio").inc(files.audio.size_bytes)
    for ref in files.images:
        metrics.upload_bytes.labels(kind="image").inc(ref.size_bytes)
    body = project_json(project)
    body["audio"] = intake.audio_json(form, inspected.audio, files.audio)
    return JSONResponse(
        body, status_code=201, headers={"Location": f"{router.prefix}/{project_id}"}
    )


async def _create(
    orchestrator: OrchestratorClient, request: opb.CreateProjectRequest
) -> opb.Project:
    try:
        return await orchestrator.create(request)
    except grpc.aio.AioRpcError as exc:
        # The answer was lost, not necessarily the project: the id is ours, so look before
        # deleting uploads that a created project would need.
        if exc.code() not in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE):
            raise
        try:
            return await orchestrator.get(request.project_id)
        except grpc.aio.AioRpcError:
            raise exc from None


@router.get("", summary="List projects (newest first, as the orchestrator orders them)")
async def list_projects(
    who: CurrentPrincipal,
    orchestrator: OrchestratorDep,
    security: SecurityDep,
    ownership: OwnershipDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    page_token: Annotated[str, Query(max_length=200)] = "",
) -> dict[str, Any]:
    if not security.enabled:
        resp = await orchestrator.list_page(page_size=limit, page_token=page_token)
        return {
            "projects": [project_json(p) for p in resp.projects],
            "next_page_token": resp.next_page_token or None,
        }
    # With keys, filter to the caller's projects (markers are cached, so this stays cheap).
    mine = []
    for p in await orchestrator.list_all():
        if await ownership.visible(p.id, who):
            mine.append(project_json(p))
    start = int(page_token) if page_token.isascii() and page_token.isdigit() else 0
    page = mine[start : start + limit]
    more = start + limit < len(mine)
    return {"projects": page, "next_page_token": str(start + limit) if more else None}


@router.get("/{project_id}", summary="A project's status, progress and results")
async def get_project(project: LiveProjectDep) -> dict[str, Any]:
    return project_json(project)


@router.delete("/{project_id}", status_code=204, summary="Delete a project and its files")
async def delete_project(
    project: ProjectDep,
    orchestrator: OrchestratorDep,
    follower: FollowerDep,
    store: StoreDep,
    ownership: OwnershipDep,
) -> Response:
    follower.forget(project.id)
    await orchestrator.delete(project.id)
    # The orchestrator removes the artifacts; the owner marker is the gateway's own.
    with contextlib.suppress(Exception):
        await asyncio.to_thread(store.delete_prefix, contract.uploads_prefix(project.id))
    ownership.forget(project.id)
    return Response(status_code=204)


@router.post("/{project_id}/process", status_code=202, summary="Start the pipeline")
async def process_project(
    project: ProjectDep, orchestrator: OrchestratorDep, follower: FollowerDep
) -> dict[str, Any]:
    started = await orchestrator.process(project.id)
    return run_started(follower, orchestrator, started)


@router.post("/{project_id}/cancel", status_code=202, summary="Stop a running project")
async def cancel_project(
    project: ProjectDep, orchestrator: OrchestratorDep, follower: FollowerDep
) -> dict[str, Any]:
    cancelled = await orchestrator.cancel(project.id)
    follower.update(cancelled)
    return project_json(cancelled)


@router.post(
    "/{project_id}/segments/{segment_index}/regenerate",
    status_code=202,
    summary="Re-render one segment (optionally re-drawing its keyframe) and re-compose",
)
async def regenerate_segment(
    project: ProjectDep,
    segment_index: Annotated[int, FastAPIPath(ge=0, le=2**31 - 1)],
    orchestrator: OrchestratorDep,
    follower: FollowerDep,
    body: RegenerateBody | None = None,
) -> dict[str, Any]:
    count = len(project.segments)
    if project.segments and segment_index >= count:
        raise InvalidInput(
            f"segment {segment_index} does not exist; the project has "
            f"{count} segments (0..{max(count - 1, 0)})"
        )
    body = body or RegenerateBody()
    started = await orchestrator.regenerate(
        project.id, segment_index, prompt=body.prompt.strip(), seed=body.seed
    )
    return run_started(follower, orchestrator, started)


@router.post(
    "/{project_id}/preview",
    status_code=202,
    summary="Render a quick low-resolution preview of the whole song",
)
async def preview_project(
    project: ProjectDep, orchestrator: OrchestratorDep, follower: FollowerDep
) -> dict[str, Any]:
    started = await orchestrator.preview(project.id)
    return run_started(follower, orchestrator, started)


def document_create_form(app: FastAPI, max_upload_mb: int) -> None:
    """Put the multipart body of POST /projects, with this app's limits, in its OpenAPI schema.

    Per app (its upload limit is a setting), so by extending the generated schema, as FastAPI's
    "Extending OpenAPI" guide does, not by changing the shared route.
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            schema["paths"][router.prefix]["post"].update(create_form_openapi(max_upload_mb))
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]
