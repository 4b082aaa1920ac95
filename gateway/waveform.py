"""The song's waveform for the timeline page: peak levels of the uploaded audio, decoded once.

`peaks` is pure (samples in, levels out); `waveform_of` decodes with PyAV (the same decoder the
gateway probes uploads with) and keeps the last few results (by the song's digest), since a page
asks for the same song's waveform every time it opens.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from services.common.audio_probe import audio_stream, open_audio
from services.common.storage import ArtifactStore

MAX_POINTS = 4000
DEFAULT_POINTS = 1000
# Decode at a low rate: a few thousand peaks need nothing finer, and it keeps memory small.
DECODE_RATE = 8000


def peaks(samples: np.ndarray, points: int) -> list[float]:
    """Max |sample| in each of `points` equal slices, scaled so the loudest slice is 1."""
    if points < 1:
        raise ValueError("points must be >= 1")
    mono = np.abs(np.asarray(samples, dtype=np.float32).reshape(-1))
    if mono.size == 0:
        return [0.0] * points
    edges = np.linspace(0, mono.size, points + 1).astype(np.int64)
    # Every slice has at least one sample (slices may repeat for very short audio).
    starts = np.minimum(edges[:-1], mono.size - 1)
    ends = np.maximum(edges[1:], starts + 1)
    levels = np.array([mono[a:b].max() for a, b in zip(starts, ends, strict=True)])
    top = float(levels.max())
    scaled = levels / top if top > 0 else levels
    return [round(float(v), 4) for v in scaled]


def decode_mono(path: Path, rate: int = DECODE_RATE) -> np.ndarray:
    """The whole file as mono float32 at `rate` Hz."""
    with open_audio(path) as container:
        stream = audio_stream(container)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        chunks = []
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)


def waveform_of(path: Path, points: int) -> dict[str, object]:
    samples = decode_mono(path)
    return {
        "duration": round(samples.size / DECODE_RATE, 3),
        "points": points,
        "peaks": peaks(samples, points),
    }


# (artifact sha256 or key, points) -> waveform; a new upload has a new digest.
_CACHE: dict[tuple[str, int], dict[str, object]] = {}
CACHE_SIZE = 16


def stored_waveform(store: ArtifactStore, key: str, digest: str, points: int) -> dict[str, object]:
    """The waveform of a stored song (local dir or S3), decoded once per song and size."""
    cache_key = (digest or key, points)
    if cache_key not in _CACHE:
        with store.local_path(key) as path:
            result = waveform_of(path, points)
        while len(_CACHE) >= CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[cache_key] = result
    return _CACHE[cache_key]
