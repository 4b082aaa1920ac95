"""The video timeline: which frames each segment covers, from the song length and key moments.

Pure functions; the frame math is the contract's (services/common/contract.py). The final video
has exactly round(duration × fps) frames; keyframe i sits on frame round(t_i × fps) (the first
one always on frame 0), segment i covers [f_i, f_{i+1}) and the last one ends on the last frame,
so segments tile the timeline with no gap or overlap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.common.contract import time_to_frame, total_frames
from services.common.errors import InvalidInput


@dataclass(frozen=True)
class PlannedSegment:
    index: int
    start_frame: int
    end_frame: int
    # Indices into the keyframe list: the segment animates from one keyframe towards the next
    # (the last segment holds its own keyframe: to_keyframe == from_keyframe).
    from_keyframe: int
    to_keyframe: int

    @property
    def frame_count(self) -> int:
        return self.end_frame - self.start_frame


def plan_segments(
    duration_s: float, fps: int, keyframe_times: Sequence[float]
) -> list[PlannedSegment]:
    """Segments between keyframes; keyframes that would start an empty segment are merged away.

    A keyframe whose frame is not after the previous kept keyframe's frame (same frame, or out of
    order) or that falls on/after the last frame would make a zero-length segment: it is skipped,
    so its time span belongs to the previous segment. With no keyframes at all there is nothing
    to animate, which is an error.
    """
    if not keyframe_times:
        raise InvalidInput("no keyframes to animate: the concept has no key moments")
    total = total_frames(duration_s, fps)
    kept: list[tuple[int, int]] = []  # (keyframe index, start frame)
    for i, t in enumerate(keyframe_times):
        frame = 0 if not kept else time_to_frame(t, fps)
        if kept and (frame <= kept[-1][1] or frame >= total):
            continue
        kept.append((i, frame))
    segments = []
    for n, (kf, start) in enumerate(kept):
        last = n == len(kept) - 1
        end = total if last else kept[n + 1][1]
        to_kf = kf if last else kept[n + 1][0]
        segments.append(PlannedSegment(n, start, end, kf, to_kf))
    return segments
