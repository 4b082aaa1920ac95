"""The timeline planner: segments tile [0, total_frames) exactly, one per usable keyframe."""

from __future__ import annotations

import pytest

from services.common.contract import total_frames
from services.common.errors import InvalidInput
from services.orchestrator.timeline import plan_segments


def _check_tiling(segments, total):  # type: ignore[no-untyped-def]
    assert segments[0].start_frame == 0
    assert segments[-1].end_frame == total
    for a, b in zip(segments, segments[1:], strict=False):
        assert a.end_frame == b.start_frame
    assert all(s.frame_count >= 1 for s in segments)
    assert [s.index for s in segments] == list(range(len(segments)))
    assert sum(s.frame_count for s in segments) == total


def test_total_frames_rounds_duration_times_fps() -> None:
    assert total_frames(10.0, 30) == 300
    assert total_frames(9.99, 12) == 120  # 119.88 -> 120
    with pytest.raises(InvalidInput):
        total_frames(0.01, 30)  # 0.3 frames -> 0
    with pytest.raises(InvalidInput):
        total_frames(10.0, 0)


def test_segments_start_on_keyframe_frames_and_tile() -> None:
    segs = plan_segments(10.0, 30, [0.0, 2.5, 5.02, 7.5])
    assert [(s.start_frame, s.end_frame) for s in segs] == [
        (0, 75),
        (75, 151),
        (151, 225),
        (225, 300),
    ]
    assert [(s.from_keyframe, s.to_keyframe) for s in segs] == [(0, 1), (1, 2), (2, 3), (3, 3)]
    _check_tiling(segs, 300)


def test_first_keyframe_is_pinned_to_frame_zero() -> None:
    segs = plan_segments(4.0, 12, [0.7, 2.0])
    assert segs[0].start_frame == 0
    _check_tiling(segs, 48)


def test_degenerate_keyframes_are_merged() -> None:
    # Two keyframes on the same frame, one out of order, one at/after the end, one past it.
    times = [0.0, 0.01, 1.0, 1.001, 0.5, 3.0, 3.99, 5.0]
    segs = plan_segments(4.0, 12, times)
    _check_tiling(segs, 48)
    starts = [s.start_frame for s in segs]
    assert starts == sorted(set(starts))
    assert [s.from_keyframe for s in segs] == [0, 2, 5]  # 3.99 s -> frame 48 == total: dropped
    assert segs[-1].to_keyframe == segs[-1].from_keyframe


def test_single_keyframe_covers_everything() -> None:
    segs = plan_segments(8.0, 12, [3.0])
    assert [(s.start_frame, s.end_frame) for s in segs] == [(0, 96)]


def test_no_keyframes_is_an_error() -> None:
    with pytest.raises(InvalidInput):
        plan_segments(8.0, 12, [])


@pytest.mark.parametrize("fps", [1, 12, 24, 30, 60])
def test_random_timelines_always_tile(fps: int) -> None:
    import random

    rng = random.Random(fps)
    for _ in range(200):
        duration = rng.uniform(0.5, 300)
        times = sorted(rng.uniform(0, duration * 1.1) for _ in range(rng.randint(1, 40)))
        if rng.random() < 0.3:
            rng.shuffle(times)
        total = round(duration * fps)
        if total < 1:
            continue
        _check_tiling(plan_segments(duration, fps, times), total)
