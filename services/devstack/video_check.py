"""Facts about a finished MP4, read by decoding it with PyAV (used by the demo and tests)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av


@dataclass(frozen=True)
class VideoFacts:
    video_codec: str
    pix_fmt: str
    width: int
    height: int
    fps: float
    frame_count: int
    video_duration: float
    audio_codec: str | None
    audio_duration: float
    video_streams: int
    audio_streams: int
    color_primaries: str | None


def inspect_video(path: Path) -> VideoFacts:
    """Decode every video frame (counting them) and every audio frame (summing samples)."""
    with av.open(str(path)) as container:
        vstreams = container.streams.video
        astreams = container.streams.audio
        v = vstreams[0]
        frames = 0
        for _ in container.decode(v):
            frames += 1
        fps = float(v.average_rate or v.guessed_rate or 0)
        primaries = None
        cc = v.codec_context
        try:
            primaries = str(cc.color_primaries)
        except AttributeError:
            primaries = None
        facts_video = (cc.name, cc.pix_fmt or "", cc.width, cc.height)
    audio_codec = None
    audio_duration = 0.0
    if astreams:
        with av.open(str(path)) as container:
            a = container.streams.audio[0]
            audio_codec = a.codec_context.name
            samples = 0
            rate = a.codec_context.sample_rate or 1
            for frame in container.decode(a):
                samples += frame.samples
            audio_duration = samples / rate
    return VideoFacts(
        video_codec=facts_video[0],
        pix_fmt=facts_video[1],
        width=facts_video[2],
        height=facts_video[3],
        fps=fps,
        frame_count=frames,
        video_duration=frames / fps if fps else 0.0,
        audio_codec=audio_codec,
        audio_duration=audio_duration,
        video_streams=len(vstreams),
        audio_streams=len(astreams),
        color_primaries=primaries,
    )
