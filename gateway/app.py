"""The REST gateway: FastAPI app factory.

The gateway owns uploads (it picks the project id, validates and stores the files, then calls
CreateProject with references), downloads (served from the shared store, with Range), live
progress (WatchProject as Server-Sent Events), auth, rate limits, metrics and the web page.
Everything about projects' state is the orchestrator's, reached over gRPC.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import fastapi_offline
import grpc
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi import Path as FastAPIPath
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from google.protobuf.json_format import MessageToDict
from lumiere.v1 import common_pb2
from lumiere.v1 import orchestrator_pb2 as opb
from PIL import Image, ImageDraw, ImageFont
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from starlette.requests import ClientDisconnect

from gateway import media
from gateway.config import GatewaySettings
from gateway.downloads import artifact_response
from gateway.follow import ProjectFollower
from gateway.metrics import Metrics, MetricsMiddleware
from gateway.rpc import Orchestrator, check_health, http_status, rpc_detail
from gateway.security import Ownership, Principal, Security, install_log_redaction
from gateway.uploads import ParsedForm, RequestTooLarge, parse_multipart
from gateway.views import (
    ACTIVE_STATES,
    QUALITY_NAMES,
    TERMINAL_STATES,
    event_json,
    project_json,
    state_name,
    state_rank,
)
from services.common import stages
from services.common.errors import InvalidInput, LumiereError, NotFound
from services.common.settings import Settings, get_settings
from services.common.storage import ArtifactStore, UploadTooLarge, open_store

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
SWAGGER_DIR = Path(fastapi_offline.__file__).parent / "static"
API = "/api/v1"
# Project ids: the gateway's uuid4 hex, or whatever the orchestrator generates: a safe, short
# token either way, so an id can never name a path outside the project's storage.
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_SIZE_RE = re.compile(r"^\s*(\d{1,5})\s*[xX×]\s*(\d{1,5})\s*$")
_ASPECT_RE = re.compile(r"^\s*(\d{1,3})\s*[:/xX]\s*(\d{1,3})\s*$")
TEXT_FIELDS = {
    "prompt",
    "width",
    "height",
    "size",
    "aspect",
    "fps",
    "quality",
    "seed",
    "style",
    "key_moments",
    "key_moment_count",
}
MAX_PROMPT_CHARS = 2000
MAX_STYLE_CHARS = 500
# Long side of the frame when only an aspect ratio is given, by quality.
_LONG_SIDE = {0: 1280, 1: 480, 2: 960, 3: 1280}

STATUS_CODES = {
    "InvalidInput": 400,
    "NotFound": 404,
    "FailedPrecondition": 409,
    "AlreadyExists": 409,
    "RequestTooLarge": 413,
    "UploadTooLarge": 413,
    "UnsupportedMediaType": 415,
}


class RegenerateBody(BaseModel):
    prompt: str = Field(default="", max_length=MAX_PROMPT_CHARS, description="re-draw the keyframe")
    seed: int | None = Field(default=None, ge=0, le=2**63 - 1)


def _principal(request: Request) -> Principal:
    """Authenticate (when keys are configured) and rate-limit; see gateway.security."""
    security: Security = request.app.state.security
    return security.authenticate(request)


Auth = Annotated[Principal, Depends(_principal)]


def _error(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def _int_field(form: ParsedForm, name: str, lo: int, hi: int) -> int | None:
    raw = form.text(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        value = int(raw.strip())
    except ValueError as exc:
        raise InvalidInput(f"{name} must be a whole number, got {raw[:40]!r}") from exc
    if not lo <= value <= hi:
        raise InvalidInput(f"{name} must be between {lo} and {hi}, got {value}")
    return value


def parse_options(form: ParsedForm) -> opb.ProjectOptions:
    """Form fields -> ProjectOptions; 0/empty means "the pipeline chooses"."""
    opts = opb.ProjectOptions()
    quality = (form.text("quality") or "").strip().lower()
    if quality:
        if quality not in QUALITY_NAMES:
            raise InvalidInput(f"quality must be one of preview, draft, final; got {quality!r}")
        opts.quality = QUALITY_NAMES[quality]  # type: ignore[assignment]
    width = _int_field(form, "width", 64, 3840)
    height = _int_field(form, "height", 64, 3840)
    size = form.text("size")
    if size:
        m = _SIZE_RE.match(size)
        if not m:
            raise InvalidInput(f"size must look like 1280x720, got {size[:40]!r}")
        if width or height:
            raise InvalidInput("give either size or width/height, not both")
        width, height = int(m.group(1)), int(m.group(2))
    aspect = form.text("aspect")
    if aspect:
        m = _ASPECT_RE.match(aspect)
        if not m or int(m.group(1)) == 0 or int(m.group(2)) == 0:
            raise InvalidInput(f"aspect must look like 16:9, got {aspect[:40]!r}")
        aw, ah = int(m.group(1)), int(m.group(2))
        if not 0.2 <= aw / ah <= 5:
            raise InvalidInput("aspect must be between 1:5 and 5:1")
        if width and height:
            raise InvalidInput("give either aspect or both width and height, not all three")
        long_side = _LONG_SIDE[int(opts.quality)]
        if width:
            height = round(width * ah / aw / 2) * 2
        elif height:
            width = round(height * aw / ah / 2) * 2
        elif aw >= ah:
            width, height = long_side, round(long_side * ah / aw / 2) * 2
        else:
            width, height = round(long_side * aw / ah / 2) * 2, long_side
    if bool(width) != bool(height):
        raise InvalidInput("give both width and height (or size, or aspect)")
    if width and height:
        for name, v in (("width", width), ("height", height)):
            if not 64 <= v <= 3840:
                raise InvalidInput(f"{name} must be between 64 and 3840, got {v}")
            if v % 2:
                raise InvalidInput(f"{name} must be even (H.264 4:2:0 video), got {v}")
        opts.width, opts.height = width, height
    fps = _int_field(form, "fps", 1, 60)
    if fps:
        opts.fps = fps
    seed = _int_field(form, "seed", 0, 2**63 - 1)
    if seed is not None:
        opts.seed = seed
    if form.text("key_moments") is not None and form.text("key_moment_count") is not None:
        raise InvalidInput("give key_moments or key_moment_count, not both")
    kname = "key_moments" if form.text("key_moments") is not None else "key_moment_count"
    count = _int_field(form, kname, 0, 64)
    if count:
        if count < 2:
            raise InvalidInput(f"{kname} must be at least 2 (or 0 to let the music choose)")
        opts.key_moment_count = count
    style = (form.text("style") or "").strip()
    if len(style) > MAX_STYLE_CHARS:
        raise InvalidInput(f"style is longer than {MAX_STYLE_CHARS} characters")
    opts.style = style
    return opts


def create_app(
    settings: Settings | None = None,
    gateway_settings: GatewaySettings | None = None,
    store: ArtifactStore | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    gw = gateway_settings or GatewaySettings()
    store = store if store is not None else open_store(settings)
    security = Security(gw.api_key_list, gw.rate_limit_per_minute, gw.rate_limit_burst)
    ownership = Ownership(store, security.enabled)
    if security.enabled:
        install_log_redaction()
    metrics = Metrics()
    follower = ProjectFollower(metrics)
    state: dict[str, Orchestrator] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The aio channel belongs to the serving event loop, so it is made here, not at import.
        state["orchestrator"] = Orchestrator(settings.orchestrator_target, gw.rpc_timeout_s)
        try:
            yield
        finally:
            await follower.close()
            await state.pop("orchestrator").close()

    app = FastAPI(
        title="Lumiere",
        version="1.0",
        summary="Turns a song and a prompt into a music video whose motion follows the music.",
        lifespan=lifespan,
        # FastAPI's own /docs pages load Swagger UI from a CDN; ours serve it locally (offline).
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.gateway_settings = gw
    app.state.store = store
    app.state.security = security
    app.state.metrics = metrics
    app.state.follower = follower

    def orch() -> Orchestrator:
        if "orchestrator" not in state:  # lifespan not run (e.g. a bare ASGI call)
            state["orchestrator"] = Orchestrator(settings.orchestrator_target, gw.rpc_timeout_s)
        return state["orchestrator"]

    app.state.orchestrator = orch

    # ---------------------------------------------------------------- errors
    @app.exception_handler(grpc.aio.AioRpcError)
    async def _rpc_error(request: Request, exc: grpc.aio.AioRpcError) -> JSONResponse:
        status = http_status(exc.code())
        if status >= 500:
            log.warning(
                "%s %s: orchestrator %s: %s",
                request.method,
                request.url.path,
                exc.code().name,
                exc.details(),
            )
        headers = {"Retry-After": "5"} if status in (429, 503) else None
        return _error(status, rpc_detail(exc), headers)

    @app.exception_handler(LumiereError)
    async def _lumiere_error(request: Request, exc: LumiereError) -> JSONResponse:
        status = 400
        for cls in type(exc).__mro__:
            if cls.__name__ in STATUS_CODES:
                status = STATUS_CODES[cls.__name__]
                break
        # An oversized body is refused mid-stream: close the connection so the server stops
        # receiving the rest (uvicorn would otherwise read and discard it to keep the socket).
        headers = {"Connection": "close"} if status == 413 else None
        return _error(status, str(exc), headers)

    # ---------------------------------------------------------------- middleware
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    if gw.cors_origin_list:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=gw.cors_origin_list,
            allow_methods=["GET", "POST", "DELETE", "HEAD", "OPTIONS"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "Range"],
            expose_headers=["Content-Range", "Accept-Ranges", "Content-Length", "Location"],
        )

    def check_id(project_id: str) -> str:
        if not _ID_RE.match(project_id):
            raise InvalidInput(
                f"invalid project id {project_id[:80]!r}: use the id returned when it was created"
            )
        return project_id

    async def load(project_id: str, who: Principal, live: bool = False) -> opb.Project:
        """The project as the caller may see it; `live` allows the followed (cached) copy."""
        check_id(project_id)
        # Another key's project answers exactly like a missing one: ids don't leak.
        if not await ownership.visible(project_id, who):
            raise NotFound(f"project {project_id} not found")
        if live and (cached := follower.cached(project_id)) is not None:
            return cached
        project = await orch().get(project_id)
        if live and state_name(project.state) in ACTIVE_STATES:
            # Someone is polling a running project: follow it from now on.
            follower.follow(orch(), project)
        return project

    def owned_key(project: opb.Project, ref: common_pb2.ArtifactRef) -> str:
        """A store key from the orchestrator, accepted only inside this project's folders."""
        key = ref.key
        if not key or not (
            key.startswith(f"outputs/{project.id}/") or key.startswith(f"uploads/{project.id}/")
        ):
            raise NotFound("artifact not found")
        return key

    # ---------------------------------------------------------------- service endpoints
    @app.get(
        "/health", tags=["service"], summary="Health of the gateway and the services behind it"
    )
    async def health() -> JSONResponse:
        targets = {"orchestrator": settings.orchestrator_target}
        if gw.health_check_stages:
            targets["concept"] = settings.concept_target
            targets["seeder"] = settings.seeder_target
            for i, target in enumerate(settings.animator_targets):
                targets[f"animator-{i}" if len(settings.animator_targets) > 1 else "animator"] = (
                    target
                )
        names = list(targets)
        results = await asyncio.gather(
            *(check_health(targets[n], gw.health_timeout_s) for n in names)
        )
        services = {
            n: {"target": targets[n], "status": s} for n, s in zip(names, results, strict=True)
        }
        if services["orchestrator"]["status"] != "SERVING":
            status, code = "unavailable", 503
        elif all(s["status"] == "SERVING" for s in services.values()):
            status, code = "ok", 200
        else:
            status, code = "degraded", 200  # the API answers; some renders may wait or fail
        return JSONResponse(
            {"status": status, "service": "gateway", "services": services}, status_code=code
        )

    @app.get("/livez", tags=["service"], summary="Liveness: the gateway process answers")
    async def livez() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", tags=["service"], summary="Prometheus metrics")
    async def prometheus_metrics() -> Response:
        await metrics.refresh_project_counts(orch(), gw.metrics_cache_s)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    # ---------------------------------------------------------------- projects
    api = APIRouter(prefix=API, tags=["projects"])

    def file_limit(field: str) -> int | None:
        if field == "audio":
            return settings.max_upload_mb << 20
        if field == "character_images":
            return gw.max_image_mb << 20
        if field == "lyrics":
            return gw.max_lyrics_kb << 10
        return None

    max_body = (
        (settings.max_upload_mb << 20)
        + gw.max_character_images * (gw.max_image_mb << 20)
        + (gw.max_lyrics_kb << 10)
        + (1 << 20)  # text fields and multipart framing
    )

    create_doc: dict[str, Any] = {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["audio", "prompt"],
                        "properties": {
                            "audio": {
                                "type": "string",
                                "format": "binary",
                                "description": "the song (wav, flac, mp3, m4a, ogg, opus); "
                                f"at most {settings.max_upload_mb} MiB",
                            },
                            "prompt": {"type": "string", "maxLength": MAX_PROMPT_CHARS},
                            "character_images": {
                                "type": "array",
                                "items": {"type": "string", "format": "binary"},
                                "description": f"up to {gw.max_character_images} PNG/JPEG/WebP",
                            },
                            "lyrics": {
                                "type": "string",
                                "format": "binary",
                                "description": "LRC, SRT or plain text (UTF-8)",
                            },
                            "width": {"type": "integer", "minimum": 64, "maximum": 3840},
                            "height": {"type": "integer", "minimum": 64, "maximum": 3840},
                            "size": {"type": "string", "example": "1280x720"},
                            "aspect": {"type": "string", "example": "16:9"},
                            "fps": {"type": "integer", "minimum": 1, "maximum": 60},
                            "quality": {"type": "string", "enum": ["preview", "draft", "final"]},
                            "seed": {"type": "integer", "minimum": 0},
                            "style": {"type": "string", "maxLength": MAX_STYLE_CHARS},
                            "key_moments": {"type": "integer", "minimum": 0, "maximum": 64},
                        },
                    }
                }
            },
        }
    }

    @api.post(
        "/projects",
        status_code=201,
        summary="Create a project from a song, a prompt and optional images/lyrics",
        openapi_extra=create_doc,
        responses={400: {}, 401: {}, 413: {}, 415: {}, 422: {}, 429: {}, 503: {}},
    )
    async def create_project(request: Request, who: Auth) -> JSONResponse:
        project_id = uuid.uuid4().hex
        stored = False
        try:
            async with parse_multipart(
                request.headers.get("content-type"),
                request.headers.get("content-length"),
                request.stream(),
                file_limit=file_limit,
                text_fields=TEXT_FIELDS,
                max_body_bytes=max_body,
                max_parts=gw.max_character_images + len(TEXT_FIELDS) + 4,
            ) as form:
                audio_parts = form.files.get("audio", [])
                if not audio_parts:
                    return _error(422, "missing form field 'audio': the song file is required")
                if len(audio_parts) > 1:
                    raise InvalidInput("give exactly one audio file")
                prompt = (form.text("prompt") or "").strip()
                if not prompt:
                    return _error(422, "missing form field 'prompt': describe the video to make")
                if len(prompt) > MAX_PROMPT_CHARS:
                    raise InvalidInput(f"prompt is longer than {MAX_PROMPT_CHARS} characters")
                images = form.files.get("character_images", [])
                if len(images) > gw.max_character_images:
                    raise InvalidInput(
                        f"{len(images)} character images; at most {gw.max_character_images}"
                    )
                lyrics_parts = form.files.get("lyrics", [])
                if len(lyrics_parts) > 1:
                    raise InvalidInput("give at most one lyrics file")
                options = parse_options(form)

                audio = audio_parts[0]
                info = await asyncio.to_thread(
                    media.probe_audio, audio.path, settings.max_audio_seconds
                )
                image_infos = []
                for i, part in enumerate(images):
                    label = f"character image {i + 1} ({part.filename!r})"
                    image_infos.append(
                        await asyncio.to_thread(
                            media.check_image, part.path, label, gw.max_image_pixels
                        )
                    )
                lyrics_meta = None
                if lyrics_parts:
                    lyrics_meta = await asyncio.to_thread(
                        media.check_lyrics, lyrics_parts[0].path, lyrics_parts[0].filename
                    )

                # Everything checks out: now (and only now) write to the shared store.
                stored = True
                ext = media.audio_extension(audio.filename, info.container)
                audio_ref = await _store_file(
                    store,
                    f"uploads/{project_id}/audio.{ext}",
                    audio.path,
                    media.AUDIO_EXTENSIONS.get(ext, "application/octet-stream"),
                    settings.max_upload_mb << 20,
                )
                image_refs = [
                    await _store_file(
                        store,
                        f"uploads/{project_id}/character_{i}.{ii.extension}",
                        part.path,
                        ii.content_type,
                        gw.max_image_mb << 20,
                    )
                    for i, (part, ii) in enumerate(zip(images, image_infos, strict=True))
                ]
                lyrics_ref = None
                if lyrics_meta is not None:
                    lyrics_ref = await _store_file(
                        store,
                        f"uploads/{project_id}/lyrics.{lyrics_meta[0]}",
                        lyrics_parts[0].path,
                        lyrics_meta[1],
                        gw.max_lyrics_kb << 10,
                    )
            await ownership.record(project_id, who.owner)
            request_pb = opb.CreateProjectRequest(
                project_id=project_id,
                prompt=prompt,
                audio=audio_ref,
                character_images=image_refs,
                options=options,
                lyrics=lyrics_ref,
            )
            try:
                project = await orch().create(request_pb)
            except grpc.aio.AioRpcError as exc:
                # The answer was lost, not necessarily the project: the id is ours, so look
                # before deleting uploads that a created project would need.
                if exc.code() not in (
                    grpc.StatusCode.DEADLINE_EXCEEDED,
                    grpc.StatusCode.UNAVAILABLE,
                ):
                    raise
                try:
                    project = await orch().get(project_id)
                except grpc.aio.AioRpcError:
                    raise exc from None
        except BaseException as exc:
            reason = type(exc).__name__
            if isinstance(exc, grpc.aio.AioRpcError):
                reason = exc.code().name.lower()
            metrics.rejected_uploads.labels(reason=reason).inc()
            if stored:  # rejected after storing: leave nothing behind
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(store.delete_prefix, f"uploads/{project_id}")
                ownership.forget(project_id)
            if isinstance(exc, ClientDisconnect):
                # The client went away mid-upload: nobody to answer, and not a server error.
                return _error(400, "the client disconnected before the upload finished")
            raise
        metrics.upload_bytes.labels(kind="audio").inc(audio_ref.size_bytes)
        for ref in image_refs:
            metrics.upload_bytes.labels(kind="image").inc(ref.size_bytes)
        body = project_json(project)
        body["audio"] = {
            "filename": Path(audio.filename).name,
            "duration_seconds": round(info.duration, 3),
            "sample_rate": info.sample_rate,
            "channels": info.channels,
            "codec": info.codec,
            "size_bytes": audio_ref.size_bytes,
        }
        return JSONResponse(
            body, status_code=201, headers={"Location": f"{API}/projects/{project_id}"}
        )

    @api.get("/projects", summary="List projects (newest first, as the orchestrator orders them)")
    async def list_projects(
        who: Auth,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        page_token: Annotated[str, Query(max_length=200)] = "",
    ) -> dict[str, Any]:
        if not security.enabled:
            resp = await orch().list_page(page_size=limit, page_token=page_token)
            return {
                "projects": [project_json(p) for p in resp.projects],
                "next_page_token": resp.next_page_token or None,
            }
        # With keys, filter to the caller's projects (markers are cached, so this stays cheap).
        mine = []
        for p in await orch().list_all():
            if await ownership.visible(p.id, who):
                mine.append(project_json(p))
        start = int(page_token) if page_token.isascii() and page_token.isdigit() else 0
        page = mine[start : start + limit]
        more = start + limit < len(mine)
        return {"projects": page, "next_page_token": str(start + limit) if more else None}

    @api.get("/projects/{project_id}", summary="A project's status, progress and results")
    async def get_project(project_id: str, who: Auth) -> dict[str, Any]:
        return project_json(await load(project_id, who, live=True))

    @api.delete("/projects/{project_id}", status_code=204, summary="Delete a project and its files")
    async def delete_project(project_id: str, who: Auth) -> Response:
        await load(project_id, who)
        follower.forget(project_id)
        await orch().call("DeleteProject", opb.DeleteProjectRequest(project_id=project_id))
        # The orchestrator removes the artifacts; the owner marker is the gateway's own.
        with contextlib.suppress(Exception):
            await asyncio.to_thread(store.delete_prefix, f"uploads/{project_id}")
        ownership.forget(project_id)
        return Response(status_code=204)

    @api.post("/projects/{project_id}/process", status_code=202, summary="Start the pipeline")
    async def process_project(project_id: str, who: Auth) -> dict[str, Any]:
        await load(project_id, who)
        project = await orch().process(project_id)
        follower.follow(orch(), project, just_started=True)
        return project_json(project)

    @api.post("/projects/{project_id}/cancel", status_code=202, summary="Stop a running project")
    async def cancel_project(project_id: str, who: Auth) -> dict[str, Any]:
        await load(project_id, who)
        resp = await orch().call("CancelProject", opb.CancelProjectRequest(project_id=project_id))
        follower.update(resp.project)  # type: ignore[attr-defined]
        return project_json(resp.project)  # type: ignore[attr-defined]

    @api.post(
        "/projects/{project_id}/segments/{segment_index}/regenerate",
        status_code=202,
        summary="Re-render one segment (optionally re-drawing its keyframe) and re-compose",
    )
    async def regenerate_segment(
        project_id: str,
        segment_index: Annotated[int, FastAPIPath(ge=0, le=2**31 - 1)],
        who: Auth,
        body: RegenerateBody | None = None,
    ) -> dict[str, Any]:
        project = await load(project_id, who)
        if segment_index < 0 or (project.segments and segment_index >= len(project.segments)):
            raise InvalidInput(
                f"segment {segment_index} does not exist; the project has "
                f"{len(project.segments)} segments (0..{max(len(project.segments) - 1, 0)})"
            )
        body = body or RegenerateBody()
        req = opb.RegenerateSegmentRequest(
            project_id=project_id, segment_index=segment_index, prompt=body.prompt.strip()
        )
        if body.seed is not None:
            req.seed = body.seed
        resp = await orch().call("RegenerateSegment", req)
        follower.follow(orch(), resp.project, just_started=True)  # type: ignore[attr-defined]
        return project_json(resp.project)  # type: ignore[attr-defined]

    @api.post(
        "/projects/{project_id}/preview",
        status_code=202,
        summary="Render a quick low-resolution preview of the whole song",
    )
    async def preview_project(project_id: str, who: Auth) -> dict[str, Any]:
        await load(project_id, who)
        resp = await orch().call("PreviewProject", opb.PreviewProjectRequest(project_id=project_id))
        follower.follow(orch(), resp.project, just_started=True)  # type: ignore[attr-defined]
        return project_json(resp.project)  # type: ignore[attr-defined]

    # ---------------------------------------------------------------- downloads
    video_responses: dict[int | str, dict[str, Any]] = {
        200: {"content": {"video/mp4": {}}, "description": "the MP4"},
        206: {"description": "the requested byte range"},
        404: {},
        409: {},
        416: {},
    }

    async def mp4_response(
        project: opb.Project, ref: common_pb2.ArtifactRef, filename: str, request: Request
    ) -> Response:
        key = owned_key(project, ref)
        return await artifact_response(store, key, "video/mp4", request, filename, ref.sha256)

    @api.head("/projects/{project_id}/video", include_in_schema=False)
    @api.get(
        "/projects/{project_id}/video",
        summary="Download the final MP4 (supports HTTP Range, so a browser can seek)",
        responses=video_responses,
        response_class=Response,
    )
    async def download_video(project_id: str, request: Request, who: Auth) -> Response:
        project = await load(project_id, who)
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
        return await mp4_response(
            project, project.final_video, f"lumiere-{project_id}.mp4", request
        )

    @api.head("/projects/{project_id}/preview", include_in_schema=False)
    @api.get(
        "/projects/{project_id}/preview",
        summary="Download the preview MP4 (after POST .../preview finished)",
        responses=video_responses,
        response_class=Response,
    )
    async def download_preview(project_id: str, request: Request, who: Auth) -> Response:
        project = await load(project_id, who)
        if not project.preview_video.key:
            raise HTTPException(409, "no preview yet: POST .../preview and wait for it to finish")
        return await mp4_response(
            project, project.preview_video, f"lumiere-{project_id}-preview.mp4", request
        )

    @api.get("/projects/{project_id}/concept", summary="The full concept (music analysis) JSON")
    async def get_concept(project_id: str, request: Request, who: Auth) -> Response:
        project = await load(project_id, who)
        key = f"outputs/{project_id}/concept.json"
        if await asyncio.to_thread(store.exists, key):
            return await artifact_response(store, key, "application/json", request)
        if project.HasField("concept"):
            return JSONResponse(MessageToDict(project.concept, preserving_proto_field_name=True))
        raise HTTPException(
            409, f"the project is {state_name(project.state)}; the concept is not generated yet"
        )

    @api.get("/projects/{project_id}/keyframes", summary="Keyframes: time, prompt and image URL")
    async def list_keyframes(project_id: str, who: Auth) -> list[dict[str, Any]]:
        project = await load(project_id, who)
        return list(project_json(project)["keyframes"])

    @api.get(
        "/projects/{project_id}/keyframes/{index}",
        summary="One keyframe image (PNG)",
        response_class=Response,
        responses={200: {"content": {"image/png": {}}}, 404: {}},
    )
    async def get_keyframe(project_id: str, index: int, request: Request, who: Auth) -> Response:
        project = await load(project_id, who)
        if not 0 <= index < len(project.keyframes):
            raise NotFound(
                f"keyframe {index} not found; the project has {len(project.keyframes)} keyframes"
            )
        ref = project.keyframes[index].image
        return await artifact_response(
            store,
            owned_key(project, ref),
            ref.content_type or "image/png",
            request,
            etag=ref.sha256,
        )

    @api.get(
        "/projects/{project_id}/contact-sheet",
        summary="All keyframes on one image (JPEG), in timeline order",
        response_class=Response,
        responses={200: {"content": {"image/jpeg": {}}}, 409: {}},
    )
    async def contact_sheet(project_id: str, request: Request, who: Auth) -> Response:
        project = await load(project_id, who)
        # The seeder draws one; once the orchestrator passes it on, serve that.
        sheet_ref = getattr(project, "contact_sheet", None)
        if sheet_ref is not None and sheet_ref.key:
            key = owned_key(project, sheet_ref)
            return await artifact_response(
                store, key, sheet_ref.content_type or "image/png", request, etag=sheet_ref.sha256
            )
        frames = [k for k in project.keyframes if k.image.key]
        if not frames:
            raise HTTPException(
                409, f"the project is {state_name(project.state)}; no keyframes yet"
            )
        cache_key = tuple(k.image.sha256 or k.image.key for k in frames)
        data = sheets.get(cache_key)
        if data is None:
            items = [
                (owned_key(project, k.image), f"{k.key_moment_id} @ {k.time:.1f} s") for k in frames
            ]
            data = await asyncio.to_thread(_contact_sheet, store, items)
            if len(sheets) >= 32:
                sheets.pop(next(iter(sheets)))
            sheets[cache_key] = data
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-cache"})

    # Composed contact sheets by keyframe content (a re-drawn keyframe changes the key).
    sheets: dict[tuple[str, ...], bytes] = {}

    # ---------------------------------------------------------------- live progress
    @api.get(
        "/projects/{project_id}/events",
        summary="Live progress as Server-Sent Events",
        description=(
            "Events: `project` (the full project JSON, first and last), `state` (status "
            "changed), `progress` (stage progress), `end` (terminal state reached, stream "
            "closes). Keep-alive comments every few seconds."
        ),
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}}},
    )
    async def project_events(project_id: str, request: Request, who: Auth) -> StreamingResponse:
        project = await load(project_id, who)
        # Subscribe before taking the snapshot so that no change falls between the two.
        queue = follower.subscribe(orch(), project)
        try:
            snapshot = await load(project_id, who, live=True)
        except BaseException:
            follower.unsubscribe(project_id, queue)
            raise
        return StreamingResponse(
            _sse(orch(), follower, snapshot, queue, request, gw.sse_keepalive_s),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    app.include_router(api)

    # ---------------------------------------------------------------- web page
    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> Response:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Lumiere API",
            swagger_js_url="/static/vendor/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui.css",
            swagger_favicon_url="/static/vendor/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> Response:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title="Lumiere API",
            redoc_js_url="/static/vendor/redoc.standalone.js",
            redoc_favicon_url="/static/vendor/favicon.png",
            with_google_fonts=False,
        )

    # Swagger UI / ReDoc assets ship in the fastapi-offline wheel; we only use its files.
    app.mount("/static/vendor", StaticFiles(directory=SWAGGER_DIR), name="vendor")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


async def _store_file(
    store: ArtifactStore, key: str, path: Path, content_type: str, max_bytes: int
) -> common_pb2.ArtifactRef:
    def put() -> common_pb2.ArtifactRef:
        with path.open("rb") as fh:
            return store.put_stream(key, fh, content_type, max_bytes=max_bytes)

    try:
        return await asyncio.to_thread(put)
    except UploadTooLarge:
        raise RequestTooLarge(f"{key.rsplit('/', 1)[-1]} is over its size limit") from None


def _contact_sheet(store: ArtifactStore, items: list[tuple[str, str]], thumb_w: int = 320) -> bytes:
    """Keyframes as a captioned grid of thumbnails, up to 4 per row (JPEG)."""
    thumbs = []
    for key, _ in items:
        with Image.open(io.BytesIO(store.get_bytes(key))) as src:
            rgb = src.convert("RGB")
        h = max(1, round(rgb.height * thumb_w / rgb.width))
        thumbs.append(rgb.resize((thumb_w, h), Image.Resampling.LANCZOS))
    cols = min(4, len(thumbs))
    rows = -(-len(thumbs) // cols)
    cell_h = max(t.height for t in thumbs)
    gap, caption = 6, 22
    sheet = Image.new(
        "RGB",
        (cols * thumb_w + (cols + 1) * gap, rows * (cell_h + caption) + (rows + 1) * gap),
        (16, 16, 20),
    )
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=14)
    for i, (thumb, (_, label)) in enumerate(zip(thumbs, items, strict=True)):
        r, c = divmod(i, cols)
        x, y = gap + c * (thumb_w + gap), gap + r * (cell_h + caption + gap)
        sheet.paste(thumb, (x, y))
        draw.text((x + 2, y + cell_h + 3), f"{i}: {label}", fill=(200, 204, 214), font=font)
    out = io.BytesIO()
    sheet.save(out, format="JPEG", quality=85)
    return out.getvalue()


def _sse_message(event: str, data: dict[str, Any], event_id: int | None = None) -> bytes:
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append(f"event: {event}")
    lines.append(f"data: {json.dumps(data, separators=(',', ':'))}")
    return ("\n".join(lines) + "\n\n").encode()


async def _sse(
    orchestrator: Orchestrator,
    follower: ProjectFollower,
    project: opb.Project,
    queue: asyncio.Queue[Any],
    request: Request,
    keepalive_s: float,
) -> AsyncIterator[bytes]:
    """A project's events as SSE, from the follower's shared WatchProject stream."""
    project_id = project.id
    try:
        yield b"retry: 3000\n\n"
        yield _sse_message("project", project_json(project), 0)
        status = state_name(project.state)
        if status in TERMINAL_STATES:
            yield _sse_message("end", {"status": status}, 1)
            return
        n = 1
        last_status = status
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), timeout=keepalive_s)
            except TimeoutError:
                if await request.is_disconnected():
                    return
                yield b": keep-alive\n\n"
                continue
            if isinstance(item, grpc.aio.AioRpcError):
                detail = {"status": http_status(item.code()), "detail": rpc_detail(item)}
                yield _sse_message("error", detail, n + 1)
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
            yield _sse_message(kind, data, n)
            if last_status in TERMINAL_STATES:
                with contextlib.suppress(grpc.aio.AioRpcError):
                    final = await orchestrator.get(project_id)
                    n += 1
                    yield _sse_message("project", project_json(final), n)
                yield _sse_message("end", {"status": last_status}, n + 1)
                return
    finally:
        follower.unsubscribe(project_id, queue)
