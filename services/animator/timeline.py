"""Frame ranges on the global timeline: validation and tiling (frame math is the contract's)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.common.contract import MAX_TOTAL_FRAMES
from services.common.errors import InvalidInput

# A single segment may be at most this long (keeps one render call bounded).
MAX_SEGMENT_FRAMES = 10 * 60 * 60


@dataclass(frozen=True)
class FrameRange:
    index: int
    start: int
    end: int

    @property
    def count(self) -> int:
        return self.end - self.start


def validate_frame_range(start: int, end: int, max_frames: int = MAX_SEGMENT_FRAMES) -> None:
    if start < 0:
        raise InvalidInput(f"segment start_frame must be >= 0, got {start}")
    if end <= start:
        raise InvalidInput(f"segment end_frame ({end}) must be greater than start_frame ({start})")
    if end - start > max_frames:
        raise InvalidInput(
            f"segment has {end - start} frames; at most {max_frames} are allowed per segment"
        )


def validate_tiling(ranges: Sequence[FrameRange], total: int) -> None:
    """Segments, in the given order, must tile [0, total) exactly: no gap, no overlap."""
    if total <= 0:
        raise InvalidInput(f"total_frames must be > 0, got {total}")
    if total > MAX_TOTAL_FRAMES:
        raise InvalidInput(f"total_frames {total} is more than the {MAX_TOTAL_FRAMES} allowed")
    if not ranges:
        raise InvalidInput("no segments to compose")
    cursor = 0
    for pos, r in enumerate(ranges):
        if r.end <= r.start:
            raise InvalidInput(
                f"segment #{pos} (index {r.index}) is empty or reversed: [{r.start}, {r.end})"
            )
        if r.start > cursor:
            raise InvalidInput(
                f"gap in the timeline: frames [{cursor}, {r.start}) are not covered "
                f"(segment #{pos}, index {r.index}, starts at {r.start})"
            )
        if r.start < cursor:
            raise InvalidInput(
                f"segments overlap: segment #{pos} (index {r.index}) starts at {r.start} "
                f"but the previous one ends at {cursor}"
            )
        cursor = r.end
    if cursor != total:
        if cursor < total:
            raise InvalidInput(f"segments end at frame {cursor}, before total_frames {total}")
        raise InvalidInput(f"segments end at frame {cursor}, after total_frames {total}")
