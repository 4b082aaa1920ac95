"""The video settings a run renders at: the project's own, or the small preview animatic's."""

from __future__ import annotations

from lumiere.v1 import common_pb2, orchestrator_pb2


def full_settings(options: orchestrator_pb2.ProjectOptions) -> common_pb2.VideoSettings:
    return common_pb2.VideoSettings(
        width=options.width, height=options.height, fps=options.fps, quality=options.quality
    )


def preview_settings(
    options: orchestrator_pb2.ProjectOptions, preview_width: int, preview_fps: int
) -> common_pb2.VideoSettings:
    """A small, fast animatic: at most `preview_width` wide, same aspect, even sides."""
    width = min(options.width, preview_width)
    height = max(2, round(options.height * width / options.width / 2) * 2)
    width -= width % 2
    return common_pb2.VideoSettings(
        width=width,
        height=height,
        fps=min(options.fps, preview_fps),
        quality=common_pb2.QUALITY_PREVIEW,
    )
