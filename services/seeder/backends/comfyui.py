"""ComfyUI keyframes: the operator's txt2img workflow, or the character workflow (img2img from
the character guide) when the shot shows the subject.

The protocol is services/common/comfyui.py's (POST /prompt, the /ws websocket, /history, /view,
/upload/image, /interrupt); templates and their binding: services/common/comfyui_workflow.py.
The shipped templates (comfyui_templates/) are the stock SD 1.5 graphs; an operator points
LUMIERE_SEEDER_COMFYUI_WORKFLOW / _CHARACTER_WORKFLOW at their own "Save (API)" exports.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import httpx

from services.common.backend_http import RetryPolicy
from services.common.comfyui import ComfyClient
from services.common.comfyui_workflow import load_template
from services.seeder.backends.base import GeneratedImage, ImageRequest
from services.seeder.backends.http import BackendFailed, HttpImageBackend, decode_image_bytes
from services.seeder.config import SeederSettings

TEMPLATES = Path(__file__).with_name("comfyui_templates")
DEFAULT_WORKFLOW = TEMPLATES / "txt2img.json"
DEFAULT_CHARACTER_WORKFLOW = TEMPLATES / "character_img2img.json"


class ComfyUIBackend(HttpImageBackend):
    name = "comfyui"
    accepts_init_image = True

    def __init__(
        self,
        cfg: SeederSettings,
        client: httpx.Client | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        if not cfg.base_url:
            raise BackendFailed(
                "LUMIERE_SEEDER_BASE_URL must be set for the comfyui backend "
                "(e.g. http://127.0.0.1:8188)"
            )
        super().__init__(cfg, cfg.base_url, client)
        self.txt2img = load_template(cfg.comfyui_workflow or DEFAULT_WORKFLOW)
        self.character = load_template(cfg.comfyui_character_workflow or DEFAULT_CHARACTER_WORKFLOW)
        self.comfy = ComfyClient(
            self.base,
            policy=policy
            or RetryPolicy(retries=cfg.retries, backoff_s=0.5, down_wait_s=cfg.down_wait_s),
            client=self.client,
        )
        # A GPU runs one job at a time; more in flight only wait in its queue (and time out).
        self._slots = threading.BoundedSemaphore(cfg.comfyui_concurrency)

    def identity(self) -> str:
        return f"comfyui:{self.base}:{self.txt2img.digest}:{self.character.digest}"

    def generate(self, request: ImageRequest) -> GeneratedImage:
        use_character = request.init_image is not None and (
            self.character.needs("character_image") or self.character.needs("init_image")
        )
        template = self.character if use_character else self.txt2img
        gw, gh = template.size_for(request.width, request.height)
        values: dict[str, object] = {
            "prompt": request.prompt,
            "negative_prompt": request.negative_prompt,
            "seed": int(request.seed),
            "width": gw,
            "height": gh,
            "denoise": self.cfg.denoising_strength,
        }
        with self._slots:
            if use_character and request.init_image is not None:
                digest = hashlib.sha256(request.init_image).hexdigest()[:16]
                name = self.comfy.upload_image(request.init_image, f"lumiere-{digest}.png")
                values["character_image"] = values["init_image"] = name
            job = self.comfy.run(
                template,
                template.fill({k: v for k, v in values.items() if template.needs(k)}),
                deadline_s=self.cfg.timeout_s,
            )
            data = self.comfy.view(job.files[0])
        return self.fitted(
            decode_image_bytes(data, self.name),
            request.width,
            request.height,
            characters_included=use_character,
            template=template.name,
            prompt_id=job.prompt_id,
            seconds=f"{job.seconds:.2f}",
            generated_size=f"{gw}x{gh}",
        )
