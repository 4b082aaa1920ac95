"""OpenAI-compatible videos API (OpenAI's Videos API; LiteLLM and hosted providers speak it).

Wire format (https://platform.openai.com/docs/api-reference/videos, guide:
https://developers.openai.com/api/docs/guides/video-generation):
- POST {base}/v1/videos, multipart form: model, prompt, seconds ("4" | "8" | "12"),
  size ("1280x720", "720x1280"; pro models also "1792x1024", "1024x1792"), input_reference
  (an image file at exactly `size`: the first frame) -> a video object
  {"id", "object": "video", "status": "queued", "progress": 0, "seconds", "size", ...}
- GET {base}/v1/videos/{id} -> the object; status queued | in_progress | completed | failed,
  progress 0..100, and on failure "error": {"code", "message"}
- GET {base}/v1/videos/{id}/content -> the MP4 bytes
with `Authorization: Bearer <key>`. The API has no seed and no negative prompt: the negative
prompt becomes an "avoid" clause; results are not reproducible, which the cache makes moot.
"""

from __future__ import annotations

import io
import threading
import time
from typing import Any

import httpx
import numpy as np
from PIL import Image

from services.animator.clip_backends import ClipRequest, ClipResult, Progress
from services.animator.config import AnimatorSettings
from services.common.backend_errors import (
    BackendFailed,
    BackendQuotaExceeded,
    BackendUnavailable,
    ContentRejected,
)
from services.common.backend_http import POLICY_CODES, QUOTA_CODES, RetryPolicy, send, send_json
from services.common.images import cover_fit

SIZES = {
    "sora-2-pro": [(1280, 720), (720, 1280), (1792, 1024), (1024, 1792)],
    "sora-2": [(1280, 720), (720, 1280)],
}
BACKEND = "openai-videos"


def pick_size(model: str, width: int, height: int) -> tuple[int, int]:
    """The supported size whose aspect is closest to the video's (ties: the larger)."""
    family = next((k for k in SIZES if model.startswith(k)), "sora-2")
    target = width / height
    return min(SIZES[family], key=lambda s: (abs(s[0] / s[1] - target), -s[0] * s[1]))


def pick_seconds(allowed: list[int], seconds: float) -> int:
    """The shortest allowed length that covers the clip (else the longest)."""
    covering = [s for s in sorted(allowed) if s >= seconds - 1e-6]
    return covering[0] if covering else max(allowed)


def _png_at(png: bytes, size: tuple[int, int]) -> bytes:
    """The reference image at exactly the requested video size (the API requires it)."""
    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    buf = io.BytesIO()
    Image.fromarray(cover_fit(img, *size)).save(buf, "PNG")
    return buf.getvalue()


class OpenAIVideosBackend:
    name = "openai"

    def __init__(
        self,
        cfg: AnimatorSettings,
        client: httpx.Client | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        if not cfg.videos_api_key:
            raise BackendFailed(
                "LUMIERE_ANIMATOR_VIDEOS_API_KEY must be set for the openai shot backend"
            )
        self.cfg = cfg
        self.base = cfg.videos_url.rstrip("/")
        self.client = client or httpx.Client(timeout=httpx.Timeout(120.0, connect=10.0))
        self.policy = policy or RetryPolicy(
            retries=cfg.retries, backoff_s=0.5, down_wait_s=cfg.down_wait_s
        )
        self.lengths = sorted({int(s) for s in cfg.videos_seconds.split(",") if s.strip()})
        if not self.lengths:
            raise BackendFailed("LUMIERE_ANIMATOR_VIDEOS_SECONDS names no clip length")
        self.max_seconds = float(self.lengths[-1])
        self.uses_last_frame = False
        self.headers = {"Authorization": f"Bearer {cfg.videos_api_key}"}
        self._slots = threading.BoundedSemaphore(cfg.concurrency)

    def identity(self) -> str:
        return f"openai-videos:{self.base}:{self.cfg.videos_model}"

    def _call(self, method: str, path: str, what: str, **kw: Any) -> dict[str, Any]:
        return send_json(
            self.client,
            method,
            self.base + path,
            backend=BACKEND,
            policy=self.policy,
            what=what,
            headers=self.headers,
            **kw,
        )

    def generate(self, request: ClipRequest, progress: Progress | None = None) -> ClipResult:
        model = self.cfg.videos_model
        size = pick_size(model, request.width, request.height)
        seconds = pick_seconds(self.lengths, request.seconds)
        prompt = request.prompt
        if request.negative_prompt:
            prompt = f"{prompt}. Avoid: {request.negative_prompt}"
        form = {
            "model": model,
            "prompt": prompt,
            "seconds": str(seconds),
            "size": f"{size[0]}x{size[1]}",
        }
        ref = _png_at(request.first_frame, size)
        with self._slots:
            t0 = time.monotonic()
            video = self._call(
                "POST",
                "/v1/videos",
                "the video job",
                data=form,
                files={"input_reference": ("keyframe.png", ref, "image/png")},
            )
            vid = video.get("id")
            if not isinstance(vid, str) or not vid:
                raise BackendFailed(f"{BACKEND} at {self.base} answered without a video id")
            video = self._wait(vid, video, t0 + self.cfg.timeout_s, progress)
            resp = send(
                self.client,
                "GET",
                f"{self.base}/v1/videos/{vid}/content",
                backend=BACKEND,
                policy=self.policy,
                what="the video download",
                headers=self.headers,
            )
        return ClipResult(
            resp.content,
            {"video_id": vid, "model": model, "seconds": str(seconds), "size": form["size"]},
        )

    def _wait(
        self, vid: str, video: dict[str, Any], deadline: float, progress: Progress | None
    ) -> dict[str, Any]:
        while True:
            status = video.get("status")
            if progress is not None:  # may raise (cancelled): the job is then left to expire
                progress(str(status), int(video.get("progress") or 0), 100)
            if status == "completed":
                return video
            if status == "failed":
                raise _failure(vid, video.get("error") or {})
            if time.monotonic() >= deadline:
                raise BackendUnavailable(
                    f"{BACKEND} video {vid} not done before its deadline "
                    f"(status {status}, {video.get('progress', 0)}%)"
                )
            time.sleep(self.cfg.videos_poll_s)
            video = self._call("GET", f"/v1/videos/{vid}", "the status poll")


def _failure(vid: str, error: dict[str, Any]) -> BackendFailed:
    code = str(error.get("code") or "")
    message = str(error.get("message") or "no reason given")
    lowered = f"{code} {message}".lower()
    text = f"{BACKEND} video {vid} failed ({code or 'error'}): {message}"
    if any(c in lowered for c in POLICY_CODES):
        return ContentRejected(text)
    if any(c in lowered for c in QUOTA_CODES):
        return BackendQuotaExceeded(text)
    return BackendFailed(text)
