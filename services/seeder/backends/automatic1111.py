"""Automatic1111-compatible Stable Diffusion web UI API (`--api`): txt2img, and img2img when a
character image is given (the character becomes the init image, so it stays in the picture).

Wire format: POST {base}/sdapi/v1/txt2img with JSON {prompt, negative_prompt, seed, steps,
cfg_scale, width, height, batch_size, n_iter}; img2img adds {init_images: [base64],
denoising_strength}. The answer is {"images": [base64 PNG, ...], "parameters": {...},
"info": "..."}.
"""

from __future__ import annotations

import httpx

from services.seeder.backends.base import GeneratedImage, ImageRequest
from services.seeder.backends.http import (
    BackendFailed,
    HttpImageBackend,
    b64_png,
    decode_b64_image,
)
from services.seeder.config import SeederSettings

# Stable Diffusion works in multiples of 8 and is slow and odd far above its training size.
MAX_GEN_SIDE = 1024


def generation_size(width: int, height: int) -> tuple[int, int]:
    k = min(1.0, MAX_GEN_SIDE / max(width, height))
    return max(64, int(width * k) // 8 * 8), max(64, int(height * k) // 8 * 8)


class Automatic1111Backend(HttpImageBackend):
    name = "automatic1111"
    accepts_init_image = True

    def __init__(self, cfg: SeederSettings, client: httpx.Client | None = None) -> None:
        if not cfg.base_url:
            raise BackendFailed(
                "LUMIERE_SEEDER_BASE_URL must be set for the automatic1111 backend "
                "(e.g. http://127.0.0.1:7860)"
            )
        super().__init__(cfg, cfg.base_url, client)

    def identity(self) -> str:
        c = self.cfg
        return f"a1111:{self.base}:{c.steps}:{c.cfg_scale}:{c.denoising_strength}"

    def generate(self, request: ImageRequest) -> GeneratedImage:
        gw, gh = generation_size(request.width, request.height)
        payload: dict[str, object] = {
            "prompt": request.prompt,
            "negative_prompt": request.negative_prompt,
            "seed": int(request.seed),
            "steps": self.cfg.steps,
            "cfg_scale": self.cfg.cfg_scale,
            "width": gw,
            "height": gh,
            "batch_size": 1,
            "n_iter": 1,
        }
        endpoint = "txt2img"
        if request.init_image is not None:
            endpoint = "img2img"
            payload["init_images"] = [b64_png(request.init_image)]
            payload["denoising_strength"] = self.cfg.denoising_strength
            payload["resize_mode"] = 2  # "resize and fill": keep the whole character in frame
        url = f"{self.base}/sdapi/v1/{endpoint}"
        body = self.post(url, payload)
        images = body.get("images")
        if not isinstance(images, list) or not images or not isinstance(images[0], str):
            raise BackendFailed(f"automatic1111 backend at {url} returned no images")
        return self.fitted(
            decode_b64_image(images[0], self.name),
            request.width,
            request.height,
            characters_included=request.init_image is not None,
            endpoint=endpoint,
            generated_size=f"{gw}x{gh}",
        )
