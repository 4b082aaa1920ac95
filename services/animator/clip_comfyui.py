"""ComfyUI image-to-video shots: the operator's workflow (shipped: Wan 2.x image-to-video, and a
first-and-last-frame variant), queued and followed over ComfyUI's own API
(services/common/comfyui.py). The keyframe is uploaded as the first frame; a template that
binds `end_image` also gets the next shot's keyframe."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from services.animator.clip_backends import ClipRequest, ClipResult, Progress
from services.animator.config import AnimatorSettings
from services.common.backend_errors import BackendFailed
from services.common.backend_http import RetryPolicy
from services.common.comfyui import ComfyClient
from services.common.comfyui_workflow import load_template

TEMPLATES = Path(__file__).with_name("comfyui_templates")
DEFAULT_WORKFLOW = TEMPLATES / "wan_i2v.json"


class ComfyVideoBackend:
    name = "comfyui"

    def __init__(self, cfg: AnimatorSettings, policy: RetryPolicy | None = None) -> None:
        if not cfg.comfyui_url:
            raise BackendFailed(
                "LUMIERE_ANIMATOR_COMFYUI_URL must be set for the comfyui shot backend "
                "(e.g. http://127.0.0.1:8188)"
            )
        self.cfg = cfg
        self.template = load_template(cfg.comfyui_workflow or DEFAULT_WORKFLOW)
        self.comfy = ComfyClient(
            cfg.comfyui_url,
            timeout_s=120.0,
            policy=policy
            or RetryPolicy(retries=cfg.retries, backoff_s=0.5, down_wait_s=cfg.down_wait_s),
        )
        self.max_seconds = self.template.max_seconds
        self.uses_last_frame = self.template.needs("end_image")
        self._slots = threading.BoundedSemaphore(cfg.concurrency)

    def identity(self) -> str:
        return f"comfyui-video:{self.comfy.base}:{self.template.digest}"

    def _upload(self, png: bytes, role: str) -> str:
        digest = hashlib.sha256(png).hexdigest()[:16]
        return self.comfy.upload_image(png, f"lumiere-{role}-{digest}.png")

    def generate(self, request: ClipRequest, progress: Progress | None = None) -> ClipResult:
        t = self.template
        w, h = t.size_for(request.width, request.height)
        frames = t.frames_for(request.seconds)
        values: dict[str, object] = {
            "prompt": request.prompt,
            "negative_prompt": request.negative_prompt,
            "seed": int(request.seed),
            "width": w,
            "height": h,
            "frames": frames,
            "fps": float(t.limits.fps),
        }
        with self._slots:
            values["init_image"] = self._upload(request.first_frame, "first")
            if t.needs("end_image") and request.last_frame is not None:
                values["end_image"] = self._upload(request.last_frame, "last")
            elif t.needs("end_image"):
                values["end_image"] = values["init_image"]  # the last shot: come back to rest
            job = self.comfy.run(
                t,
                t.fill({k: v for k, v in values.items() if t.needs(k)}),
                deadline_s=self.cfg.timeout_s,
                progress=progress,
            )
            videos = [f for f in job.files if not f["filename"].endswith((".png", ".jpg"))]
            data = self.comfy.view((videos or job.files)[0])
        return ClipResult(
            data,
            {
                "template": t.name,
                "prompt_id": job.prompt_id,
                "frames": str(frames),
                "size": f"{w}x{h}",
            },
        )
