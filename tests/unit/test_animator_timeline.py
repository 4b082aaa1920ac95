"""Frame ranges, tiling and quality presets of the animator."""

from __future__ import annotations

import pytest
from lumiere.v1 import common_pb2

from services.animator.presets import resolve_profile
from services.animator.timeline import FrameRange, validate_frame_range, validate_tiling
from services.common.contract import time_to_frame, total_frames
from services.common.errors import InvalidInput


def test_frame_counts() -> None:
    assert total_frames(45.0, 30) == 1350
    assert total_frames(10.01, 24) == 240
    assert time_to_frame(2.49, 30) == 75


def test_tiling_accepts_exact_cover() -> None:
    validate_tiling([FrameRange(0, 0, 10), FrameRange(1, 10, 25), FrameRange(2, 25, 30)], 30)


@pytest.mark.parametrize(
    ("ranges", "total", "message"),
    [
        ([FrameRange(0, 0, 10), FrameRange(1, 12, 30)], 30, "gap in the timeline: frames [10, 12)"),
        ([FrameRange(0, 0, 10), FrameRange(1, 8, 30)], 30, "segments overlap"),
        ([FrameRange(0, 0, 10), FrameRange(1, 10, 20)], 30, "before total_frames 30"),
        ([FrameRange(0, 0, 10), FrameRange(1, 10, 40)], 30, "after total_frames 30"),
        ([FrameRange(0, 5, 30)], 30, "gap in the timeline: frames [0, 5)"),
        ([FrameRange(0, 0, 30), FrameRange(1, 30, 30)], 30, "empty or reversed"),
        ([], 30, "no segments"),
        ([FrameRange(0, 0, 30)], 0, "total_frames must be > 0"),
        # out of order is a gap + overlap, not silently sorted
        ([FrameRange(1, 10, 30), FrameRange(0, 0, 10)], 30, "gap in the timeline"),
    ],
)
def test_tiling_rejects(ranges: list[FrameRange], total: int, message: str) -> None:
    with pytest.raises(InvalidInput, match=message.replace("[", r"\[").replace(")", r"\)")):
        validate_tiling(ranges, total)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (-1, 10, "start_frame must be >= 0"),
        (10, 10, "must be greater"),
        (10, 3, "must be greater"),
        (0, 10**9, "at most"),
    ],
)
def test_frame_range_rejects(start: int, end: int, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        validate_frame_range(start, end)


def test_presets_fill_missing_fields() -> None:
    preview = resolve_profile(common_pb2.VideoSettings(quality=common_pb2.QUALITY_PREVIEW))
    assert (preview.width, preview.height, preview.fps) == (480, 270, 15)
    assert preview.x264_preset == "ultrafast"
    final = resolve_profile(common_pb2.VideoSettings(quality=common_pb2.QUALITY_FINAL))
    assert (final.width, final.height, final.fps) == (1920, 1080, 30)
    # request wins; portrait aspect from the keyframes; odd sizes become even
    custom = resolve_profile(
        common_pb2.VideoSettings(width=721, fps=24, quality=common_pb2.QUALITY_FINAL), aspect=9 / 16
    )
    assert (custom.width, custom.height, custom.fps) == (720, 1280, 24)
    assert custom.gop == 48 and "keyint=48" in custom.x264_options["x264-params"]


def test_profile_is_identical_for_every_segment_of_a_video() -> None:
    video = common_pb2.VideoSettings(
        width=1280, height=720, fps=30, quality=common_pb2.QUALITY_DRAFT
    )
    assert resolve_profile(video, aspect=1.0) == resolve_profile(video, aspect=2.0)


@pytest.mark.parametrize(
    "video",
    [
        common_pb2.VideoSettings(fps=500),
        common_pb2.VideoSettings(width=8, height=8),
        common_pb2.VideoSettings(width=-2),
    ],
)
def test_profile_rejects_nonsense(video: common_pb2.VideoSettings) -> None:
    with pytest.raises(InvalidInput):
        resolve_profile(video)
