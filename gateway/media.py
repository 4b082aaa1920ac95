"""Checks that an uploaded file is what it claims to be, before a project accepts it.

Audio is opened with PyAV and its first frames are decoded (a header alone can lie); images are
opened with Pillow and fully verified; lyrics must be UTF-8 text. Every failure raises
`InvalidInput` with a message a person can act on.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import av
from PIL import Image

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
IMAGE_FORMATS = {"PNG": ("png", "image/png"), "JPEG": ("jpg", "image/jpeg"), "WEBP": ("webp", "image/webp")}
LYRICS_EXTENSIONS = {"lrc": "text/plain", "srt": "application/x-subrip", "txt": "text/plain"}

# Decoding this much audio proves the stream is real without reading the whole song.
_PROBE_SECONDS = 1.0


@dataclass(frozen=True)
class AudioInfo:
    duration_seconds: float
    sample_rate: int
    channels: int
    codec: str
    container: str


def audio_extension(filename: str, info: AudioInfo) -> str:
    """The stored file's extension: the upload's when we know it, else the container's."""
    ext = Path(filename).suffix.lower().lstrip(".")
    if ext in AUDIO_EXTENSIONS:
        return ext
    for name in info.container.split(","):
        if name in AUDIO_EXTENSIONS:
            return name
    return {"mov": "m4a", "mp4": "m4a"}.get(info.container.split(",")[0], "bin")


def probe_audio(path: Path, max_seconds: float | None = None) -> AudioInfo:
    """Open `path` with PyAV and decode its first audio frames; raise InvalidInput if it isn't audio."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            container = av.open(str(path), mode="r")
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(f"the audio file could not be decoded as audio: {exc}") from exc
    try:
        if not container.streams.audio:
            raise InvalidInput("the audio file could not be decoded as audio: it has no audio stream")
        stream = container.streams.audio[0]
        decoded = 0.0
        sample_rate = 0
        channels = 0
        try:
            for frame in container.decode(stream):
                sample_rate = frame.sample_rate or stream.rate or 0
                channels = len(frame.layout.channels)
                if sample_rate:
                    decoded += frame.samples / sample_rate
                if decoded >= _PROBE_SECONDS:
                    break
        except av.FFmpegError as exc:
            raise InvalidInput(f"the audio file could not be decoded as audio: {exc}") from exc
        if decoded <= 0.0:
            raise InvalidInput("the audio file could not be decoded as audio: no audio frames")
        duration = 0.0
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        if duration <= 0.0 and container.duration is not None:
            duration = container.duration / av.time_base
        if max_seconds is not None and duration > max_seconds:
            raise InvalidInput(
                f"the audio is {duration:.0f} s long; the limit is {max_seconds:.0f} s"
            )
        return AudioInfo(
            duration_seconds=duration,
            sample_rate=int(sample_rate),
            channels=channels,
            codec=stream.codec_context.name,
            container=container.format.name,
        )
    finally:
        container.close()


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
                raise InvalidInput(
                    f"{label} is {width}x{height}; the limit is {max_pixels} pixels"
                )
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
