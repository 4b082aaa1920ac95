"""The shot-backend interface: a keyframe (and the next one) in, a generated video clip out.

The procedural renderer (render.py) is the default and needs no backend. A generative backend
returns the clip's encoded bytes (MP4) at whatever length, fps and size it makes; the animator
caches them by their inputs (generated.py) and conforms them to the shot (conform.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from services.animator.config import AnimatorSettings
from services.common.backend_errors import BackendFailed

# (stage, done, total): "queued" (done = jobs ahead) or "running" (steps or percent).
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class ClipRequest:
    shot_id: str
    prompt: str
    negative_prompt: str
    seed: int
    width: int  # the video's size (the clip is cover-fitted to it anyway)
    height: int
    seconds: float  # how long this clip should last at least
    first_frame: bytes  # PNG: the shot's keyframe, or the previous piece's last frame
    last_frame: bytes | None = None  # PNG of the next shot's keyframe, for first/last workflows


@dataclass
class ClipResult:
    data: bytes  # the encoded clip (MP4)
    info: dict[str, str]


class ShotBackend(Protocol):
    name: str
    # The longest clip one request can make; longer shots are made in pieces.
    max_seconds: float
    # True when the next shot's keyframe shapes the clip (first-and-last-frame workflows); only
    # then is it sent, and part of the cache key.
    uses_last_frame: bool

    def identity(self) -> str:
        """Everything about the backend that changes its output (part of the cache key)."""
        ...

    def generate(self, request: ClipRequest, progress: Progress | None = None) -> ClipResult:
        """Make the clip. `progress(stage, done, total)` may raise to cancel: the backend then
        stops the remote job where its API allows it, and lets the exception through."""
        ...


def make_shot_backend(name: str, cfg: AnimatorSettings) -> ShotBackend | None:
    """The named backend (None: procedural)."""
    if name in ("", "procedural"):
        return None
    if name == "comfyui":
        from services.animator.clip_comfyui import ComfyVideoBackend

        return ComfyVideoBackend(cfg)
    if name == "openai":
        from services.animator.clip_openai import OpenAIVideosBackend

        return OpenAIVideosBackend(cfg)
    raise BackendFailed(f"unknown shot backend {name!r}")
