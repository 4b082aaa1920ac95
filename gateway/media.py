"""Checks that an uploaded file is what it claims to be, before a project accepts it.

Audio is opened with PyAV and its first frames are decoded (a header alone can lie); images are
opened with Pillow and fully verified; lyrics must be UTF-8 text. Every failure raises
`InvalidInput` with a message a person can act on.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from services.common import audio_probe, character_image
from services.common.character_image import CharacterLimits
from services.common.errors import InvalidInput

AUDIO_EXTENSIONS = {
    "wav": "audio/wav",
    "flac": "audio/flac",
    "mp3": "audio/mpeg",
    "m4a": "audio/mp4",
    "aac": "audio/aac",
    "ogg": "audio/ogg",
    "oga": "audio/ogg",
    "opus": "audio/opus",
}
IMAGE_FORMATS = {
    "PNG": ("png", "image/png"),
    "JPEG": ("jpg", "image/jpeg"),
    # Multi-picture JPEG, as many phone cameras write; the first picture is a plain JPEG.
    "MPO": ("jpg", "image/jpeg"),
    "WEBP": ("webp", "image/webp"),
}
LYRICS_EXTENSIONS = {"lrc": "text/plain", "srt": "application/x-subrip", "txt": "text/plain"}


def audio_extension(filename: str, container: str) -> str:
    """The stored file's extension: the upload's when we know it, else the container's."""
    ext = Path(filename).suffix.lower().lstrip(".")
    if ext in AUDIO_EXTENSIONS:
        return ext
    names = container.split(",")
    for name in names:
        if name in AUDIO_EXTENSIONS:
            return name
    return {"mov": "m4a", "mp4": "m4a", "matroska": "mka"}.get(names[0], "bin")


def probe_audio(path: Path, max_seconds: float | None = None) -> audio_probe.AudioInfo:
    """Decode the header and first frames (the probe the concept service runs, so both agree).

    Undecodable files get one recognisable message, "could not be decoded as audio", whatever
    the FFmpeg detail; a song that is too long keeps the probe's own message.
    """
    try:
        return audio_probe.probe_audio(path, max_seconds)
    except audio_probe.AudioTooLong:
        raise
    except InvalidInput as exc:
        raise InvalidInput(f"the uploaded file could not be decoded as audio ({exc})") from exc


@dataclass(frozen=True)
class ImageInfo:
    format: str
    width: int
    height: int
    extension: str
    content_type: str


def check_image(path: Path, label: str, max_pixels: int) -> ImageInfo:
    """A character image must pass the seeder's own rules (services/common/character_image.py):
    PNG, JPEG or WebP, within the pixel limits, fully decodable, with a figure to cut out."""
    data = path.read_bytes()
    limits = CharacterLimits(max_bytes=max(len(data), 1), max_pixels=max_pixels)
    character_image.figure_rgba(data, label, limits)
    with Image.open(io.BytesIO(data)) as img:
        fmt = img.format or ""
        width, height = img.size
    ext, content_type = IMAGE_FORMATS[fmt]
    return ImageInfo(fmt, width, height, ext, content_type)


def check_lyrics(path: Path, filename: str) -> tuple[str, str]:
    """Lyrics must be UTF-8 text (LRC, SRT or plain); returns (extension, content type)."""
    ext = Path(filename).suffix.lower().lstrip(".") or "txt"
    if ext not in LYRICS_EXTENSIONS:
        raise InvalidInput(f"lyrics must be a .lrc, .srt or .txt file, not .{ext}")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"lyrics are not UTF-8 text: {exc}") from exc
    if "\x00" in text:
        raise InvalidInput("lyrics are not text: they contain NUL bytes")
    if not text.strip():
        raise InvalidInput("the lyrics file is empty")
    return ext, LYRICS_EXTENSIONS[ext]
