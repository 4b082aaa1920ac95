"""Checks that an uploaded file is what it claims to be, before a project accepts it.

Audio is opened with PyAV and its first frames are decoded (a header alone can lie); images are
opened with Pillow and fully verified; lyrics must be UTF-8 text. Every failure raises
`InvalidInput` with a message a person can act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from services.common import audio_probe
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
    """Open and fully decode an image; only PNG, JPEG and WebP within the pixel limit pass."""
    try:
        with Image.open(path) as img:
            fmt = img.format or ""
            width, height = img.size
            if fmt not in IMAGE_FORMATS:
                raise InvalidInput(f"{label} is a {fmt or 'unknown'} image; use PNG, JPEG or WebP")
            if width * height > max_pixels:
                raise InvalidInput(f"{label} is {width}x{height}; the limit is {max_pixels} pixels")
            img.load()  # decodes every pixel: truncated or corrupt files fail here
    except InvalidInput:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise InvalidInput(f"{label} could not be decoded as an image: {exc}") from exc
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
