"""OpenAI-compatible images API: POST {base}/v1/images/generations.

Request JSON {model, prompt, n: 1, size: "WxH"} with `Authorization: Bearer <key>`; DALL-E models
also get response_format="b64_json" (GPT image models always answer in base64 and reject the
field). Answer: {"created": ..., "data": [{"b64_json": "..."} or {"url": "..."}]}. The API has
no seed and no negative prompt: the negative prompt is appended as an "avoid" clause, and the
characters are composited by the seeder afterwards.
"""

from __future__ import annotations

import httpx

from services.seeder.backends.base import GeneratedImage, ImageRequest
from services.seeder.backends.http import (
    BackendFailed,
    BackendUnavailable,
    HttpImageBackend,
    decode_b64_image,
)
from services.seeder.config import SeederSettings

# Sizes each model family accepts, as (width, height).
SIZES = {
    "gpt-image": [(1024, 1024), (1536, 1024), (1024, 1536)],
    "dall-e-3": [(1024, 1024), (1792, 1024), (1024, 1792)],
    "dall-e-2": [(256, 256), (512, 512), (1024, 1024)],
}


def pick_size(model: str, width: int, height: int) -> tuple[int, int]:
    """The supported size whose aspect is closest to the request (ties: the larger)."""
    family = next((k for k in SIZES if model.startswith(k)), "gpt-image")
    target = width / height
    return min(SIZES[family], key=lambda s: (abs(s[0] / s[1] - target), -s[0] * s[1]))


class OpenAIImagesBackend(HttpImageBackend):
    name = "openai"
    accepts_init_image = False

    def __init__(self, cfg: SeederSettings, client: httpx.Client | None = None) -> None:
        if not cfg.api_key:
            raise BackendFailed("LUMIERE_SEEDER_API_KEY must be set for the openai backend")
        super().__init__(cfg, cfg.base_url or "https://api.openai.com", client)

    def identity(self) -> str:
        return f"openai:{self.base}:{self.cfg.model}"

    def generate(self, request: ImageRequest) -> GeneratedImage:
        w, h = pick_size(self.cfg.model, request.width, request.height)
        prompt = request.prompt
        if request.negative_prompt:
            prompt = f"{prompt}. Avoid: {request.negative_prompt}"
        payload: dict[str, object] = {
            "model": self.cfg.model,
            "prompt": prompt,
            "n": 1,
            "size": f"{w}x{h}",
        }
        if self.cfg.model.startswith("dall-e"):
            payload["response_format"] = "b64_json"
        url = f"{self.base}/v1/images/generations"
        body = self.post(url, payload, headers={"Authorization": f"Bearer {self.cfg.api_key}"})
        data = body.get("data")
        if not isinstance(data, list) or not data or not isinstance(data[0], dict):
            raise BackendFailed(f"openai backend at {url} returned no images")
        item = data[0]
        if isinstance(item.get("b64_json"), str):
            rgb = decode_b64_image(item["b64_json"], self.name)
        elif isinstance(item.get("url"), str):
            rgb = self._download(item["url"])
        else:
            raise BackendFailed(f"openai backend at {url} returned neither b64_json nor url")
        return self.fitted(
            rgb,
            request.width,
            request.height,
            characters_included=False,
            size=f"{w}x{h}",
            revised_prompt=str(item.get("revised_prompt", "")),
        )

    def _download(self, url: str):  # type: ignore[no-untyped-def]
        import base64

        try:
            resp = self.client.get(url)
        except httpx.HTTPError as exc:
            raise BackendUnavailable(f"openai image download failed: {exc}") from exc
        if resp.status_code != 200:
            raise BackendFailed(f"openai image download failed (HTTP {resp.status_code})")
        return decode_b64_image(base64.b64encode(resp.content).decode(), self.name)
