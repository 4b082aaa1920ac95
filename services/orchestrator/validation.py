"""Checks and defaults for client requests (pure functions, no I/O)."""

from __future__ import annotations

import re
import uuid

from lumiere.v1 import common_pb2, orchestrator_pb2

from services.common.errors import InvalidInput
from services.common.storage import validate_key

PROJECT_ID_RE = re.compile(r"^[a-z0-9-]{1,64}$")
DEFAULT_WIDTH, DEFAULT_HEIGHT, DEFAULT_FPS = 1280, 720, 30
MAX_WIDTH, MAX_HEIGHT, MAX_FPS = 3840, 2160, 60
MIN_SIDE = 16
MAX_KEY_MOMENTS = 64
MAX_CHARACTER_IMAGES = 8
MAX_STYLE_CHARS = 500


def project_id_or_new(project_id: str) -> str:
    if not project_id:
        return uuid.uuid4().hex
    check_project_id(project_id)
    return project_id


def check_project_id(project_id: str) -> str:
    if not PROJECT_ID_RE.match(project_id):
        raise InvalidInput(
            f"project_id must be 1-64 characters of a-z, 0-9 and '-', got {project_id[:80]!r}"
        )
    return project_id


def check_prompt(prompt: str, max_chars: int) -> str:
    prompt = prompt.strip()
    if not prompt:
        raise InvalidInput("prompt is empty: describe the video you want")
    if len(prompt) > max_chars:
        raise InvalidInput(f"prompt is {len(prompt)} characters long; the limit is {max_chars}")
    return prompt


def check_ref(name: str, ref: common_pb2.ArtifactRef) -> None:
    if not ref.key:
        raise InvalidInput(f"{name} is missing: upload it first and pass its artifact key")
    try:
        validate_key(ref.key)
    except InvalidInput as exc:
        raise InvalidInput(f"{name}: {exc}") from None


def options_with_defaults(
    options: orchestrator_pb2.ProjectOptions,
) -> orchestrator_pb2.ProjectOptions:
    out = orchestrator_pb2.ProjectOptions()
    out.CopyFrom(options)
    if out.width == 0 and out.height == 0:
        out.width, out.height = DEFAULT_WIDTH, DEFAULT_HEIGHT
    if out.fps == 0:
        out.fps = DEFAULT_FPS
    if out.quality == common_pb2.QUALITY_UNSPECIFIED:
        out.quality = common_pb2.QUALITY_FINAL
    if not (MIN_SIDE <= out.width <= MAX_WIDTH and MIN_SIDE <= out.height <= MAX_HEIGHT):
        raise InvalidInput(
            f"video size {out.width}x{out.height} is out of range: width {MIN_SIDE}-{MAX_WIDTH}, "
            f"height {MIN_SIDE}-{MAX_HEIGHT} (or leave both 0 for 1280x720)"
        )
    if out.width % 2 or out.height % 2:
        raise InvalidInput(
            f"video size {out.width}x{out.height} must have even sides (H.264 yuv420p)"
        )
    if not 1 <= out.fps <= MAX_FPS:
        raise InvalidInput(f"fps must be between 1 and {MAX_FPS}, got {out.fps}")
    if out.quality not in common_pb2.Quality.values():
        raise InvalidInput(f"unknown quality {out.quality}")
    if not 0 <= out.key_moment_count <= MAX_KEY_MOMENTS:
        raise InvalidInput(
            f"key_moment_count must be 0 (chosen from the music) to {MAX_KEY_MOMENTS}, "
            f"got {out.key_moment_count}"
        )
    if len(out.style) > MAX_STYLE_CHARS:
        raise InvalidInput(
            f"style is {len(out.style)} characters long; the limit is {MAX_STYLE_CHARS}"
        )
    return out


def preview_settings(
    options: orchestrator_pb2.ProjectOptions, preview_width: int, preview_fps: int
) -> common_pb2.VideoSettings:
    """A small, fast animatic: at most `preview_width` wide, same aspect, even sides."""
    width = min(options.width, preview_width)
    height = max(2, round(options.height * width / options.width / 2) * 2)
    width -= width % 2
    return common_pb2.VideoSettings(
        width=width,
        height=height,
        fps=min(options.fps, preview_fps),
        quality=common_pb2.QUALITY_PREVIEW,
    )


def full_settings(options: orchestrator_pb2.ProjectOptions) -> common_pb2.VideoSettings:
    return common_pb2.VideoSettings(
        width=options.width, height=options.height, fps=options.fps, quality=options.quality
    )
