"""Shared HTTP plumbing for image APIs: JSON POST with timeouts, retries and clear errors.

The retries and the sorting of failures (auth, quota, content policy, transient) are
services/common/backend_http.py's, shared with the animator's video backends. This is the only
retry layer for the seeder's outbound HTTP: the seeder's gRPC call is retried as a whole by the
orchestrator's stage retry policy, and only after these retries ran out (UNAVAILABLE).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import httpx
import numpy as np

from services.common.backend_errors import BackendFailed, BackendUnavailable
from services.common.backend_http import RetryPolicy, send_json
from services.common.errors import LumiereError
from services.common.images import cover_fit
from services.seeder.backends.base import GeneratedImage
from services.seeder.characters import CharacterLimits, decode_image
from services.seeder.config import SeederSettings
from services.seeder.images import dominant_palette

__all__ = ["BackendFailed", "BackendUnavailable", "HttpImageBackend", "post_json"]


# Backend images can be big (a 4K PNG), but never bombs.
_RESPONSE_LIMITS = CharacterLimits(max_bytes=64 * 2**20, max_pixels=8192 * 8192, max_side=8192)


def post_json(
    client: httpx.Client,
    url: str,
    payload: dict[str, Any],
    *,
    backend: str,
    retries: int,
    headers: dict[str, str] | None = None,
    backoff_s: float = 0.5,
    down_wait_s: float = 0.0,
) -> dict[str, Any]:
    policy = RetryPolicy(retries=retries, backoff_s=backoff_s, down_wait_s=down_wait_s)
    return send_json(
        client, "POST", url, backend=backend, policy=policy, json=payload, headers=headers
    )


def decode_b64_image(data: str, backend: str) -> np.ndarray:
    """A base64 image from a response (raw or data: URI) -> RGB uint8, safely decoded."""
    if data.startswith("data:"):
        data = data.split(",", 1)[-1]
    try:
        raw = base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError) as exc:
        raise BackendFailed(f"{backend} backend returned an image that is not base64") from exc
    return decode_image_bytes(raw, backend)


def decode_image_bytes(raw: bytes, backend: str) -> np.ndarray:
    """An image file from a response -> RGB uint8, with the decompression-bomb guards."""
    try:
        img = decode_image(raw, f"{backend} response", _RESPONSE_LIMITS)
    except LumiereError as exc:
        raise BackendFailed(f"{backend} backend returned an unusable image: {exc}") from exc
    return np.asarray(img.convert("RGB"))


def b64_png(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class HttpImageBackend:
    """What the HTTP backends share: settings, one client, the retried POST, the final fit."""

    name: str

    def __init__(self, cfg: SeederSettings, base: str, client: httpx.Client | None) -> None:
        self.cfg = cfg
        self.base = base.rstrip("/")
        self.client = client or httpx.Client(timeout=httpx.Timeout(cfg.timeout_s, connect=10.0))
        self.backoff_s = 0.5

    def post(
        self, url: str, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        return post_json(
            self.client,
            url,
            payload,
            backend=self.name,
            retries=self.cfg.retries,
            headers=headers,
            backoff_s=self.backoff_s,
            down_wait_s=self.cfg.down_wait_s,
        )

    def fitted(
        self, rgb: np.ndarray, width: int, height: int, characters_included: bool, **info: str
    ) -> GeneratedImage:
        """The answer at exactly the requested size, with its palette."""
        rgb = cover_fit(rgb, width, height)
        return GeneratedImage(
            image=rgb,
            palette=dominant_palette(rgb),
            characters_included=characters_included,
            info=info,
        )
