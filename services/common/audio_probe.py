"""The quick audio check both the gateway (at upload) and the concept service (before decoding)
run, so a file the gateway accepts is one the concept stage can open.

`probe_audio(path, max_seconds)` reads the header and decodes ~0.5 s of audio with PyAV: cheap
enough to run on every upload, thorough enough that a file whose header lies is caught. Every
rejection is an `InvalidInput`; an over-long song is the `AudioTooLong` subclass, so callers can
tell "not audio" from "audio, but too long" by type.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av

from services.common.errors import InvalidInput

# Probe decodes this much audio to prove the stream really decodes.
PROBE_SECONDS = 0.5


class AudioTooLong(InvalidInput):
    """Decodable audio that is longer than the limit."""


@dataclass(frozen=True)
class AudioInfo:
    duration: float  # seconds (container estimate; exact after a full decode)
    sample_rate: int
    channels: int
    codec: str
    container: str


def _limit_text(max_seconds: float) -> str:
    minutes = max_seconds / 60.0
    if abs(minutes - round(minutes)) < 1e-9:
        return f"{int(round(minutes))}-minute"
    return f"{max_seconds:g}-second"


def too_long(duration: float, max_seconds: float) -> AudioTooLong:
    return AudioTooLong(
        f"audio is {duration / 60:.1f} minutes long, longer than the "
        f"{_limit_text(max_seconds)} limit"
    )


def short_reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    # FFmpeg messages repeat the file path; keep the reason only.
    return text.split(": '")[0][:200]


def open_audio(path: Path) -> av.container.InputContainer:
    if not path.is_file():
        raise InvalidInput(f"audio file {path.name!r} not found")
    if path.stat().st_size == 0:
        raise InvalidInput("audio file is empty (zero bytes)")
    try:
        return av.open(str(path), "r")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(f"audio file could not be decoded: {short_reason(exc)}") from exc


def audio_stream(container: av.container.InputContainer) -> av.audio.stream.AudioStream:
    if not container.streams.audio:
        raise InvalidInput("no audio stream in the file")
    return container.streams.audio[0]


def stream_duration(
    container: av.container.InputContainer, stream: av.audio.stream.AudioStream
) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration) / av.time_base
    return 0.0


def probe_audio(path: Path, max_seconds: float | None = None) -> AudioInfo:
    """Check quickly that `path` is decodable audio within the length limit; return its facts.

    Raises InvalidInput (empty file, not audio / undecodable, no audio stream, no decodable
    samples) or AudioTooLong (longer than `max_seconds`). Reads the header and ~0.5 s of audio.
    """
    path = Path(path)
    with open_audio(path) as container:
        stream = audio_stream(container)
        duration = stream_duration(container, stream)
        if max_seconds is not None and duration > max_seconds:
            raise too_long(duration, max_seconds)
        decoded = 0
        rate = stream.codec_context.sample_rate or stream.rate or 0
        try:
            for frame in container.decode(stream):
                decoded += frame.samples
                rate = frame.sample_rate or rate
                if decoded >= PROBE_SECONDS * max(rate, 1):
                    break
        except (av.error.FFmpegError, ValueError) as exc:
            raise InvalidInput(f"audio file could not be decoded: {short_reason(exc)}") from exc
        if decoded == 0:
            raise InvalidInput("audio file could not be decoded: no audio samples in the stream")
        channels = stream.codec_context.channels or 1
        return AudioInfo(
            duration=duration,
            sample_rate=int(rate),
            channels=int(channels),
            codec=stream.codec_context.name,
            container=container.format.name,
        )
