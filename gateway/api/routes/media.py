"""What a project made, for download: the video, the preview, the concept, keyframes and the
contact sheet. Every key comes from the orchestrator and is served only from inside the
project's own folders."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from google.protobuf.json_format import MessageToDict
from lumiere.v1 import common_pb2
from lumiere.v1 import orchestrator_pb2 as opb

from gateway.api.deps import ProjectDep, StoreDep
from gateway.api.prefix import API_PREFIX
from gateway.api.responses import PROJECT_ERRORS
from gateway.downloads import artifact_response
from gateway.views import project_json, state_name
from services.common import contract
from services.common.errors import NotFound
from services.common.storage import ArtifactStore

router = APIRouter(
    prefix=f"{API_PREFIX}/projects/{{project_id}}", tags=["projects"], responses=PROJECT_ERRORS
)

VIDEO_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"video/mp4": {}}, "description": "the MP4"},
    206: {"description": "the requested byte range"},
    404: {},
    409: {},
    416: {},
}


def owned_key(project: opb.Project, ref: common_pb2.ArtifactRef) -> str:
    """A store key from the orchestrator, accepted only inside this project's folders."""
    if not ref.key or not contract.owns_key(project.id, ref.key):
        raise NotFound("artifact not found")
    return ref.key


async def _serve(
    store: ArtifactStore,
    project: opb.Project,
    ref: common_pb2.ArtifactRef,
    content_type: str,
    request: Request,
    filename: str | None = None,
) -> Response:
    key = owned_key(project, ref)
    return await artifact_response(store, key, content_type, request, filename, ref.sha256)


@router.head("/video", include_in_schema=False)
@router.get(
    "/video",
    summary="Download the final MP4 (supports HTTP Range, so a browser can seek)",
    responses=VIDEO_RESPONSES,
    response_class=Response,
)
async def download_video(project: ProjectDep, store: StoreDep, request: Request) -> Response:
    if not project.final_video.key:
        status = state_name(project.state)
        if status != "completed":
            raise HTTPException(
                409, f"the project is {status}; the video exists once it is completed"
            )
        # Completed by a preview-only run: the full render has not been asked for yet.
        raise HTTPException(
            409, "the project has only a preview so far; POST .../process to render the video"
        )
    filename = f"lumiere-{project.id}.mp4"
    return await _serve(store, project, project.final_video, "video/mp4", request, filename)


@router.head("/preview", include_in_schema=False)
@router.get(
    "/preview",
    summary="Download the preview MP4 (after POST .../preview finished)",
    responses=VIDEO_RESPONSES,
    response_class=Response,
)
async def download_preview(project: ProjectDep, store: StoreDep, request: Request) -> Response:
    if not project.preview_video.key:
        raise HTTPException(409, "no preview yet: POST .../preview and wait for it to finish")
    filename = f"lumiere-{project.id}-preview.mp4"
    return await _serve(store, project, project.preview_video, "video/mp4", request, filename)


@router.get("/concept", summary="The full concept (music analysis) JSON")
async def get_concept(project: ProjectDep, store: StoreDep, request: Request) -> Response:
    key = contract.concept_key(project.id)
    if await asyncio.to_thread(store.exists, key):
        return await artifact_response(store, key, "application/json", request)
    if project.HasField("concept"):
        return JSONResponse(MessageToDict(project.concept, preserving_proto_field_name=True))
    raise HTTPException(
        409, f"the project is {state_name(project.state)}; the concept is not generated yet"
    )


@router.get("/keyframes", summary="Keyframes: time, prompt and image URL")
async def list_keyframes(project: ProjectDep) -> list[dict[str, Any]]:
    return list(project_json(project)["keyframes"])


@router.get(
    "/keyframes/{index}",
    summary="One keyframe image (PNG)",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, 404: {}},
)
async def get_keyframe(
    project: ProjectDep, index: int, store: StoreDep, request: Request
) -> Response:
    if not 0 <= index < len(project.keyframes):
        raise NotFound(
            f"keyframe {index} not found; the project has {len(project.keyframes)} keyframes"
        )
    ref = project.keyframes[index].image
    return await _serve(store, project, ref, ref.content_type or "image/png", request)


@router.get(
    "/contact-sheet",
    summary="Every keyframe on one image (the seeder's contact sheet), in timeline order",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, 409: {}},
)
@router.get(
    "/storyboard.png",
    summary="The storyboard strip: one thumbnail per shot (the seeder's contact sheet)",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, 409: {}},
)
async def contact_sheet(project: ProjectDep, store: StoreDep, request: Request) -> Response:
    ref = project.contact_sheet
    if not ref.key:
        raise HTTPException(409, f"the project is {state_name(project.state)}; no keyframes yet")
    return await _serve(store, project, ref, ref.content_type or "image/png", request)
