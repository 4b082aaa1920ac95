"""Shared HTTP plumbing for image APIs: JSON POST with timeouts, retries and clear errors.

Transient failures (connection errors, timeouts, 429, 5xx) are retried with exponential backoff
(tenacity); anything else fails at once with the service's own message, so a wrong URL or API key
is reported as such instead of being retried.

This is the only retry layer for the seeder's outbound HTTP. Nothing above it retries an image
request: the seeder's gRPC call is retried as a whole by the orchestrator's stage retry policy
(see services/common/grpc_client.py), and only after these retries ran out (UNAVAILABLE).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import grpc
import httpx
import numpy as np
from tenacity import (
    retry,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from services.common.errors import LumiereError
from services.common.images import cover_fit
from services.seeder.backends.base import GeneratedImage
from services.seeder.characters import CharacterLimits, decode_image
from services.seeder.config import SeederSettings
from services.seeder.images import dominant_palette


class BackendFailed(LumiereError):
    """The image service refused the request or answered nonsense (not worth retrying)."""

    code = grpc.StatusCode.FAILED_PRECONDITION


class BackendUnavailable(LumiereError):
    """The image service stayed unreachable or overloaded through every retry."""

    code = grpc.StatusCode.UNAVAILABLE


class _Transient(Exception):
    pass


# Backend images can be big (a 4K PNG), but never bombs.
_RESPONSE_LIMITS = CharacterLimits(max_bytes=64 * 2**20, max_pixels=8192 * 8192, max_side=8192)


def _snippet(resp: httpx.Response) -> str:
    try:
        body = resp.json()
        if isinstance(body, dict):
            err = body.get("error") or body.get("detail") or body.get("message") or body
            if isinstance(err, dict):
                err = err.get("message") or err
            return str(err)[:300]
    except ValueError:
        pass
    return resp.text[:300]


def post_json(
    client: httpx.Client,
    url: str,
    payload: dict[str, Any],
    *,
    backend: str,
    retries: int,
    headers: dict[str, str] | None = None,
    backoff_s: float = 0.5,
) -> dict[str, Any]:
    @retry(
        retry=retry_if_exception_type(_Transient),
        stop=stop_after_attempt(retries),
        wait=wait_exponential(multiplier=backoff_s, max=10),
        reraise=True,
    )
    def attempt() -> dict[str, Any]:
        try:
            resp = client.post(url, json=payload, headers=headers)
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise _Transient(f"{type(exc).__name__}: {exc}") from exc
        if resp.status_code == 429 or resp.status_code >= 500:
            raise _Transient(f"HTTP {resp.status_code}: {_snippet(resp)}")
        if resp.status_code >= 400:
            raise BackendFailed(
                f"{backend} backend refused the request to {url} "
                f"(HTTP {resp.status_code}): {_snippet(resp)}"
            )
        try:
            body = resp.json()
        except ValueError as exc:
            raise BackendFailed(f"{backend} backend at {url} answered with non-JSON") from exc
        if not isinstance(body, dict):
            raise BackendFailed(f"{backend} backend at {url} answered with unexpected JSON")
        return body

    try:
        return attempt()
    except _Transient as exc:
        raise BackendUnavailable(
            f"{backend} backend at {url} failed after {retries} attempts: {exc}"
        ) from exc


def decode_b64_image(data: str, backend: str) -> np.ndarray:
    """A base64 image from a response (raw or data: URI) -> RGB uint8, safely decoded."""
    if data.startswith("data:"):
        data = data.split(",", 1)[-1]
    try:
        raw = base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError) as exc:
        raise BackendFailed(f"{backend} backend returned an image that is not base64") from exc
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
