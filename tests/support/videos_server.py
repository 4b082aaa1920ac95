"""A loopback OpenAI-compatible videos API (https://platform.openai.com/docs/api-reference/videos):
POST /v1/videos (multipart: model, prompt, seconds, size, input_reference), GET
/v1/videos/{id} (queued -> in_progress -> completed | failed, progress), GET
/v1/videos/{id}/content (MP4). The clip is the reference image drifting sideways at 24 fps for
`seconds`; knobs make it refuse (401, quota, rate limit with Retry-After) or fail a job
(moderation)."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

import numpy as np
from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from PIL import Image

from tests.support.comfyui_server import mp4_of
from tests.support.live_gateway import serve_in_thread

KEY = "sk-test"
FPS = 24


@dataclass
class VideoKnobs:
    rate_limited: int = 0  # answer this many creates with 429 + Retry-After first
    quota: bool = False  # 429 insufficient_quota
    moderation: bool = False  # the job fails with moderation_blocked
    polls_to_finish: int = 2


@dataclass
class FakeVideos:
    url: str = ""
    knobs: VideoKnobs = field(default_factory=VideoKnobs)
    created: list[dict[str, Any]] = field(default_factory=list)
    references: list[bytes] = field(default_factory=list)
    polls: int = 0
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    clips: dict[str, bytes] = field(default_factory=dict)


def _error(status: int, message: str, code: str, etype: str, **headers: str) -> JSONResponse:
    body = {"error": {"message": message, "type": etype, "param": None, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


def make_app(fake: FakeVideos) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def auth(request: Request, call_next: Any) -> Response:
        if request.headers.get("authorization") != f"Bearer {KEY}":
            return _error(
                401, "Incorrect API key provided", "invalid_api_key", "invalid_request_error"
            )
        response: Response = await call_next(request)
        return response

    @app.post("/v1/videos")
    async def create(
        prompt: Annotated[str, Form()],
        model: Annotated[str, Form()] = "sora-2",
        seconds: Annotated[str, Form()] = "4",
        size: Annotated[str, Form()] = "720x1280",
        input_reference: Annotated[UploadFile | None, File()] = None,
    ) -> Response:
        k = fake.knobs
        if k.quota:
            return _error(
                429, "You exceeded your current quota", "insufficient_quota", "insufficient_quota"
            )
        if k.rate_limited > 0:
            k.rate_limited -= 1
            return _error(
                429,
                "Rate limit reached",
                "rate_limit_exceeded",
                "requests",
                **{"retry-after": "0.2"},
            )
        if seconds not in ("4", "8", "12"):
            return _error(
                400, f"Invalid seconds {seconds!r}", "invalid_value", "invalid_request_error"
            )
        w, h = (int(v) for v in size.split("x"))
        vid = f"video_{uuid.uuid4().hex[:12]}"
        fake.created.append({"model": model, "prompt": prompt, "seconds": seconds, "size": size})
        ref = np.zeros((h, w, 3), np.uint8)
        if input_reference is not None:
            data = await input_reference.read()
            fake.references.append(data)
            img = Image.open(io.BytesIO(data)).convert("RGB")
            if img.size != (w, h):
                return _error(
                    400,
                    "Inpaint image must match the requested width and height",
                    "invalid_value",
                    "invalid_request_error",
                )
            ref = np.asarray(img)
        job = {
            "id": vid,
            "object": "video",
            "model": model,
            "status": "queued",
            "progress": 0,
            "created_at": 1764347090,
            "seconds": seconds,
            "size": size,
            "error": None,
            "_polls": 0,
            "_ref": ref,
        }
        fake.jobs[vid] = job
        return JSONResponse(_public(job))

    @app.get("/v1/videos/{vid}")
    async def status(vid: str) -> Response:
        job = fake.jobs.get(vid)
        if job is None:
            return _error(404, f"Video {vid} not found", "not_found", "invalid_request_error")
        fake.polls += 1
        job["_polls"] += 1
        if job["_polls"] >= fake.knobs.polls_to_finish:
            if fake.knobs.moderation:
                job["status"] = "failed"
                job["error"] = {
                    "code": "moderation_blocked",
                    "message": "Your request was blocked by our moderation system.",
                }
            else:
                job["status"], job["progress"] = "completed", 100
                frames = int(job["seconds"]) * FPS
                fake.clips[vid] = mp4_of(job["_ref"], frames, FPS)
        else:
            job["status"], job["progress"] = "in_progress", 50
        return JSONResponse(_public(job))

    @app.get("/v1/videos/{vid}/content")
    async def content(vid: str) -> Response:
        data = fake.clips.get(vid)
        if data is None:
            return _error(404, "Video is not ready", "not_found", "invalid_request_error")
        return Response(data, media_type="video/mp4")

    return app


def _public(job: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in job.items() if not k.startswith("_")}


@contextmanager
def fake_videos(knobs: VideoKnobs | None = None) -> Iterator[FakeVideos]:
    fake = FakeVideos(knobs=knobs or VideoKnobs())
    with serve_in_thread(make_app(fake)) as url:
        fake.url = url
        yield fake
