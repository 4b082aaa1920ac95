"""Decode any audio PyAV can read into a mono float32 resample, and validate it on the way.

Two entry points, both pure (a path in, data or `InvalidInput` out):

- `probe_audio(path, max_seconds)` is quick (header + the first decoded frames): the gateway
  calls it to reject non-audio uploads with HTTP 400 before a project is accepted.
- `load_mono(path, sr, max_seconds)` decodes the whole file to mono float32 at `sr` and rejects
  empty, silent and over-long audio.

Every rejection is an `InvalidInput` whose message says what is wrong ("no audio stream",
"audio is silent", "longer than the 20-minute limit", "audio file could not be decoded: ...").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from services.common.errors import InvalidInput

# Peak below this (about -80 dBFS) counts as digital silence.
SILENCE_PEAK = 1e-4
# Probe decodes this much audio to prove the stream really decodes.
PROBE_SECONDS = 0.5


@dataclass(frozen=True)
class AudioInfo:
    duration: float  # seconds (container estimate; exact after load_mono)
    sample_rate: int
    channels: int
    codec: str
    container: str


def _limit_text(max_seconds: float) -> str:
    minutes = max_seconds / 60.0
    if abs(minutes - round(minutes)) < 1e-9:
        return f"{int(round(minutes))}-minute"
    return f"{max_seconds:g}-second"


def _too_long(duration: float, max_seconds: float) -> InvalidInput:
    return InvalidInput(
        f"audio is {duration / 60:.1f} minutes long, longer than the "
        f"{_limit_text(max_seconds)} limit"
    )


def _open(path: Path) -> av.container.InputContainer:
    if not path.is_file():
        raise InvalidInput(f"audio file {path.name!r} not found")
    if path.stat().st_size == 0:
        raise InvalidInput("audio file is empty (zero bytes)")
    try:
        return av.open(str(path), "r")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(f"audio file could not be decoded: {_short(exc)}") from exc


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    # FFmpeg messages repeat the file path; keep the reason only.
    return text.split(": '")[0][:200]


def _audio_stream(container: av.container.InputContainer) -> av.audio.stream.AudioStream:
    if not container.streams.audio:
        raise InvalidInput("no audio stream in the file")
    return container.streams.audio[0]


def _stream_duration(
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
    samples, longer than `max_seconds`). Cheap: reads the header and ~0.5 s of audio.
    """
    path = Path(path)
    with _open(path) as container:
        stream = _audio_stream(container)
        duration = _stream_duration(container, stream)
        if max_seconds is not None and duration > max_seconds:
            raise _too_long(duration, max_seconds)
        decoded = 0
        rate = stream.codec_context.sample_rate or stream.rate or 0
        try:
            for frame in container.decode(stream):
                decoded += frame.samples
                rate = frame.sample_rate or rate
                if decoded >= PROBE_SECONDS * max(rate, 1):
                    break
        except (av.error.FFmpegError, ValueError) as exc:
            raise InvalidInput(f"audio file could not be decoded: {_short(exc)}") from exc
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


def load_mono(path: Path, sr: int = 22050, max_seconds: float | None = None) -> np.ndarray:
    """Decode the first audio stream to mono float32 at `sr` (PyAV's resampler downmixes).

    Raises InvalidInput for everything `probe_audio` rejects, plus truncated/corrupt streams
    that yield nothing, silent audio, and audio longer than `max_seconds` (checked while
    decoding too, so a lying header cannot make us decode hours of audio).
    """
    path = Path(path)
    chunks: list[np.ndarray] = []
    total = 0
    limit = None if max_seconds is None else int(max_seconds * sr) + sr  # 1 s grace
    with _open(path) as container:
        stream = _audio_stream(container)
        duration = _stream_duration(container, stream)
        if max_seconds is not None and duration > max_seconds:
            raise _too_long(duration, max_seconds)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sr)
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    arr = out.to_ndarray().reshape(-1)
                    chunks.append(arr)
                    total += arr.size
                if limit is not None and total > limit:
                    raise _too_long(total / sr, max_seconds or 0.0)
            for out in resampler.resample(None):
                arr = out.to_ndarray().reshape(-1)
                chunks.append(arr)
                total += arr.size
        except (av.error.FFmpegError, ValueError) as exc:
            if total == 0:
                raise InvalidInput(f"audio file could not be decoded: {_short(exc)}") from exc
            # A truncated tail: keep what decoded cleanly.
    if total == 0:
        raise InvalidInput("audio file could not be decoded: no audio samples in the stream")
    samples = np.concatenate(chunks).astype(np.float32, copy=False)
    if max_seconds is not None and samples.size / sr > max_seconds + 1.0:
        raise _too_long(samples.size / sr, max_seconds)
    if not np.all(np.isfinite(samples)):
        samples = np.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0)
    if float(np.max(np.abs(samples))) < SILENCE_PEAK:
        raise InvalidInput("audio is silent (no signal above -80 dBFS)")
    if samples.size < sr // 2:
        raise InvalidInput(f"audio is too short to analyse ({samples.size / sr:.2f} s, need 0.5 s)")
    return samples
