"""The create form: its fields, their limits, and parsing them into a CreateForm (pure).

Limits that other services also enforce (image count, frame size, fps, key moments, style) come
from `services.common.contract`, so a project the gateway accepts is one every stage accepts.
The multipart body itself is streamed and spooled by `gateway.uploads`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from lumiere.v1 import common_pb2, storyboard_pb2
from lumiere.v1 import orchestrator_pb2 as opb

from gateway.config import GatewaySettings
from gateway.storyboards import storyboard_from_json
from gateway.uploads import FilePart, MissingField, ParsedForm
from services.common import contract
from services.common.errors import InvalidInput
from services.common.settings import Settings

TEXT_FIELDS = {
    "prompt",
    "width",
    "height",
    "size",
    "aspect",
    "fps",
    "quality",
    "seed",
    "style",
    "key_moments",
    "key_moment_count",
    "storyboard",
    "shot_backend",
    "keyframe_backend",
}
FILE_FIELDS = ("audio", "character_images", "lyrics")
MAX_PROMPT_CHARS = 2000
MAX_SEED = 2**63 - 1
# A storyboard of a long song (a few hundred shots with prompts) is a few hundred KiB of JSON.
MAX_TEXT_FIELD_BYTES = 1 << 20
# "preview" -> QUALITY_PREVIEW, ...: the proto enum's names, lowercase.
QUALITY_NAMES: dict[str, int] = {
    name.removeprefix("QUALITY_").lower(): value
    for name, value in common_pb2.Quality.items()
    if value != common_pb2.QUALITY_UNSPECIFIED
}
# Long side of the frame when only an aspect ratio is given, by quality.
_LONG_SIDE = {
    common_pb2.QUALITY_UNSPECIFIED: 1280,
    common_pb2.QUALITY_PREVIEW: 480,
    common_pb2.QUALITY_DRAFT: 960,
    common_pb2.QUALITY_FINAL: 1280,
}
_SIDE_MAX = {"width": contract.MAX_WIDTH, "height": contract.MAX_HEIGHT}
_SIZE_RE = re.compile(r"^\s*(\d{1,5})\s*[xX×]\s*(\d{1,5})\s*$")
_ASPECT_RE = re.compile(r"^\s*(\d{1,3})\s*[:/xX]\s*(\d{1,3})\s*$")


@dataclass(frozen=True)
class UploadLimits:
    """Byte limits of each file field and of the whole body."""

    audio_bytes: int
    image_bytes: int
    lyrics_bytes: int

    @classmethod
    def from_settings(cls, settings: Settings, gw: GatewaySettings) -> UploadLimits:
        return cls(settings.max_upload_mb << 20, gw.max_image_mb << 20, gw.max_lyrics_kb << 10)

    def file_limit(self, field: str) -> int | None:
        """Per file field: its byte limit, or None when the field takes no file."""
        return {
            "audio": self.audio_bytes,
            "character_images": self.image_bytes,
            "lyrics": self.lyrics_bytes,
        }.get(field)

    @property
    def body_bytes(self) -> int:
        images = contract.MAX_CHARACTER_IMAGES * self.image_bytes
        return self.audio_bytes + images + self.lyrics_bytes + MAX_TEXT_FIELD_BYTES + (1 << 20)

    @property
    def max_parts(self) -> int:
        return contract.MAX_CHARACTER_IMAGES + len(TEXT_FIELDS) + 4


@dataclass(frozen=True)
class CreateForm:
    """A create request's fields, checked; files are still temp files (not yet inspected)."""

    prompt: str
    audio: FilePart
    images: list[FilePart]
    lyrics: FilePart | None
    options: opb.ProjectOptions
    # Replaces the director's plan once the concept exists (checked against the song then).
    storyboard: storyboard_pb2.Storyboard | None = None


def read_create_form(form: ParsedForm) -> CreateForm:
    audio = form.files.get("audio", [])
    if not audio:
        raise MissingField("missing form field 'audio': the song file is required")
    if len(audio) > 1:
        raise InvalidInput("give exactly one audio file")
    prompt = (form.text("prompt") or "").strip()
    if not prompt:
        raise MissingField("missing form field 'prompt': describe the video to make")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InvalidInput(f"prompt is longer than {MAX_PROMPT_CHARS} characters")
    images = form.files.get("character_images", [])
    if len(images) > contract.MAX_CHARACTER_IMAGES:
        raise InvalidInput(
            f"{len(images)} character images; at most {contract.MAX_CHARACTER_IMAGES} are allowed"
        )
    lyrics = form.files.get("lyrics", [])
    if len(lyrics) > 1:
        raise InvalidInput("give at most one lyrics file")
    options = parse_options(form)
    storyboard = parse_storyboard(form.text("storyboard"))
    return CreateForm(prompt, audio[0], images, lyrics[0] if lyrics else None, options, storyboard)


def parse_storyboard(raw: str | None) -> storyboard_pb2.Storyboard | None:
    """The optional `storyboard` field: the JSON of GET .../storyboard (edited), or None."""
    if raw is None or not raw.strip():
        return None
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise InvalidInput(f"storyboard is not valid JSON: {exc}") from None
    try:
        return storyboard_from_json(data, None)
    except InvalidInput as exc:
        raise InvalidInput(f"storyboard: {exc}") from None


def _int_field(form: ParsedForm, name: str, lo: int, hi: int) -> int | None:
    raw = form.text(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        value = int(raw.strip())
    except ValueError as exc:
        raise InvalidInput(f"{name} must be a whole number, got {raw[:40]!r}") from exc
    if not lo <= value <= hi:
        raise InvalidInput(f"{name} must be between {lo} and {hi}, got {value}")
    return value


def _frame_size(form: ParsedForm, quality: int) -> tuple[int, int]:
    """width/height, size=WxH or aspect=W:H (with one side or the quality's long side)."""
    width = _int_field(form, "width", contract.MIN_SIDE, contract.MAX_WIDTH)
    height = _int_field(form, "height", contract.MIN_SIDE, contract.MAX_HEIGHT)
    size = form.text("size")
    if size:
        m = _SIZE_RE.match(size)
        if not m:
            raise InvalidInput(f"size must look like 1280x720, got {size[:40]!r}")
        if width or height:
            raise InvalidInput("give either size or width/height, not both")
        width, height = int(m.group(1)), int(m.group(2))
    aspect = form.text("aspect")
    if aspect:
        m = _ASPECT_RE.match(aspect)
        if not m or int(m.group(1)) == 0 or int(m.group(2)) == 0:
            raise InvalidInput(f"aspect must look like 16:9, got {aspect[:40]!r}")
        aw, ah = int(m.group(1)), int(m.group(2))
        if not 0.2 <= aw / ah <= 5:
            raise InvalidInput("aspect must be between 1:5 and 5:1")
        if width and height:
            raise InvalidInput("give either aspect or both width and height, not all three")
        long_side = _LONG_SIDE[quality]  # type: ignore[index]
        if width:
            height = round(width * ah / aw / 2) * 2
        elif height:
            width = round(height * aw / ah / 2) * 2
        elif aw >= ah:
            width, height = long_side, round(long_side * ah / aw / 2) * 2
        else:
            width, height = round(long_side * aw / ah / 2) * 2, long_side
    if bool(width) != bool(height):
        raise InvalidInput("give both width and height (or size, or aspect)")
    if not (width and height):
        return 0, 0
    for name, v in (("width", width), ("height", height)):
        if not contract.MIN_SIDE <= v <= _SIDE_MAX[name]:
            raise InvalidInput(
                f"{name} must be between {contract.MIN_SIDE} and {_SIDE_MAX[name]}, got {v}"
            )
        if v % 2:
            raise InvalidInput(f"{name} must be even (H.264 4:2:0 video), got {v}")
    return width, height


def parse_options(form: ParsedForm) -> opb.ProjectOptions:
    """Form fields -> ProjectOptions; 0/empty means "the pipeline chooses"."""
    opts = opb.ProjectOptions()
    quality = (form.text("quality") or "").strip().lower()
    if quality:
        if quality not in QUALITY_NAMES:
            names = ", ".join(QUALITY_NAMES)
            raise InvalidInput(f"quality must be one of {names}; got {quality!r}")
        opts.quality = QUALITY_NAMES[quality]  # type: ignore[assignment]
    opts.width, opts.height = _frame_size(form, int(opts.quality))
    fps = _int_field(form, "fps", 1, contract.MAX_FPS)
    if fps:
        opts.fps = fps
    seed = _int_field(form, "seed", 0, MAX_SEED)
    if seed is not None:
        opts.seed = seed
    if form.text("key_moments") is not None and form.text("key_moment_count") is not None:
        raise InvalidInput("give key_moments or key_moment_count, not both")
    kname = "key_moments" if form.text("key_moments") is not None else "key_moment_count"
    count = _int_field(form, kname, 0, contract.MAX_KEY_MOMENTS)
    if count:
        if count < 2:
            raise InvalidInput(f"{kname} must be at least 2 (or 0 to let the music choose)")
        opts.key_moment_count = count
    style = (form.text("style") or "").strip()
    if len(style) > contract.MAX_STYLE_CHARS:
        raise InvalidInput(f"style is longer than {contract.MAX_STYLE_CHARS} characters")
    opts.style = style
    shot_backend = (form.text("shot_backend") or "").strip().lower()
    if shot_backend and shot_backend not in contract.SHOT_BACKENDS:
        names = ", ".join(contract.SHOT_BACKENDS)
        raise InvalidInput(f"shot_backend must be one of {names}; got {shot_backend!r}")
    opts.shot_backend = shot_backend
    keyframe_backend = (form.text("keyframe_backend") or "").strip().lower()
    if keyframe_backend and keyframe_backend not in contract.KEYFRAME_BACKENDS:
        names = ", ".join(contract.KEYFRAME_BACKENDS)
        raise InvalidInput(f"keyframe_backend must be one of {names}; got {keyframe_backend!r}")
    opts.keyframe_backend = keyframe_backend
    return opts


def create_form_openapi(max_upload_mb: int) -> dict[str, Any]:
    """The multipart body of POST /projects for the OpenAPI schema (it is parsed by hand)."""
    binary = {"type": "string", "format": "binary"}
    properties: dict[str, Any] = {
        "audio": {
            **binary,
            "description": "the song (wav, flac, mp3, m4a, ogg, opus); "
            f"at most {max_upload_mb} MiB",
        },
        "prompt": {"type": "string", "maxLength": MAX_PROMPT_CHARS},
        "character_images": {
            "type": "array",
            "items": binary,
            "maxItems": contract.MAX_CHARACTER_IMAGES,
            "description": f"up to {contract.MAX_CHARACTER_IMAGES} PNG/JPEG/WebP",
        },
        "lyrics": {**binary, "description": "LRC, SRT or plain text (UTF-8)"},
        "width": {"type": "integer", "minimum": contract.MIN_SIDE, "maximum": contract.MAX_WIDTH},
        "height": {
            "type": "integer",
            "minimum": contract.MIN_SIDE,
            "maximum": contract.MAX_HEIGHT,
        },
        "size": {"type": "string", "example": "1280x720"},
        "aspect": {"type": "string", "example": "16:9"},
        "fps": {"type": "integer", "minimum": 1, "maximum": contract.MAX_FPS},
        "quality": {"type": "string", "enum": list(QUALITY_NAMES)},
        "seed": {"type": "integer", "minimum": 0},
        "style": {"type": "string", "maxLength": contract.MAX_STYLE_CHARS},
        "key_moments": {"type": "integer", "minimum": 0, "maximum": contract.MAX_KEY_MOMENTS},
        "shot_backend": {
            "type": "string",
            "enum": list(contract.SHOT_BACKENDS),
            "description": "how shots are animated: procedural (default), comfyui "
            "(image-to-video workflow) or openai (videos API); the deployment's "
            "LUMIERE_SHOT_BACKENDS lists the ones it offers",
        },
        "keyframe_backend": {
            "type": "string",
            "enum": list(contract.KEYFRAME_BACKENDS),
            "description": "how keyframes are drawn: empty = the deployment's image backend, "
            "procedural = the built-in engine",
        },
        "storyboard": {
            "type": "string",
            "description": "optional JSON storyboard (the shape of GET .../storyboard) that "
            "replaces the director's plan",
        },
    }
    schema = {"type": "object", "required": ["audio", "prompt"], "properties": properties}
    return {
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}
    }
