"""Decode any audio PyAV can read into a mono float32 resample, and validate it on the way.

Two entry points, both pure (a path in, data or `InvalidInput` out):

- `probe_audio(path, max_seconds)` is quick (header + the first decoded frames). It lives in
  `services.common.audio_probe`, shared with the gateway, which runs it to reject non-audio
  uploads with HTTP 400 before a project is accepted; it is re-exported here.
- `load_mono(path, sr, max_seconds)` decodes the whole file to mono float32 at `sr` and rejects
  empty, silent and over-long audio.

Every rejection is an `InvalidInput` whose message says what is wrong ("no audio stream",
"audio is silent", "longer than the 20-minute limit", "audio file could not be decoded: ...").
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from services.common.audio_probe import (
    AudioInfo,
    audio_stream,
    open_audio,
    probe_audio,
    short_reason,
    stream_duration,
    too_long,
)
from services.common.errors import InvalidInput

__all__ = ["SILENCE_PEAK", "AudioInfo", "load_mono", "probe_audio"]

# Peak below this (about -80 dBFS) counts as digital silence.
SILENCE_PEAK = 1e-4


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
    with open_audio(path) as container:
        stream = audio_stream(container)
        duration = stream_duration(container, stream)
        if max_seconds is not None and duration > max_seconds:
            raise too_long(duration, max_seconds)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sr)
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    arr = out.to_ndarray().reshape(-1)
                    chunks.append(arr)
                    total += arr.size
                if limit is not None and total > limit:
                    raise too_long(total / sr, max_seconds or 0.0)
            for out in resampler.resample(None):
                arr = out.to_ndarray().reshape(-1)
                chunks.append(arr)
                total += arr.size
        except (av.error.FFmpegError, ValueError) as exc:
            if total == 0:
                raise InvalidInput(f"audio file could not be decoded: {short_reason(exc)}") from exc
            # A truncated tail: keep what decoded cleanly.
    if total == 0:
        raise InvalidInput("audio file could not be decoded: no audio samples in the stream")
    samples = np.concatenate(chunks).astype(np.float32, copy=False)
    if max_seconds is not None and samples.size / sr > max_seconds + 1.0:
        raise too_long(samples.size / sr, max_seconds)
    if not np.all(np.isfinite(samples)):
        samples = np.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0)
    if float(np.max(np.abs(samples))) < SILENCE_PEAK:
        raise InvalidInput("audio is silent (no signal above -80 dBFS)")
    if samples.size < sr // 2:
        raise InvalidInput(f"audio is too short to analyse ({samples.size / sr:.2f} s, need 0.5 s)")
    return samples
