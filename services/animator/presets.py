"""Quality presets and the one fixed H.264 encoder profile every segment of a video shares.

Segments are joined by stream copy, which only works when every segment was encoded with the
identical profile (same size, fps, x264 preset/CRF, GOP, colour tags). The profile is therefore a
pure function of the resolved video settings, never of the segment or its content.
"""

from __future__ import annotations

from dataclasses import dataclass

from lumiere.v1 import common_pb2

from services.common.contract import MIN_SIDE
from services.common.errors import InvalidInput

# What the encoder handles; the project limits (services.common.contract) are inside these, so
# every project the orchestrator accepts renders.
MAX_SIDE = 4096
MIN_FPS = 1
MAX_FPS = 120


@dataclass(frozen=True)
class QualityPreset:
    name: str
    width: int
    fps: int
    x264_preset: str
    crf: int


PRESETS: dict[int, QualityPreset] = {
    common_pb2.QUALITY_PREVIEW: QualityPreset("preview", 480, 15, "ultrafast", 28),
    common_pb2.QUALITY_DRAFT: QualityPreset("draft", 1280, 30, "superfast", 23),
    # x264 'veryfast' for the deliverable too (DESIGN.md: ~100-120 fps at 720p in one process);
    # 'faster' measured ~1.9x its CPU here and pushed a 3-min 720p final past 60 s. The final
    # preset's extra quality comes from the lower CRF and the larger frame instead.
    common_pb2.QUALITY_FINAL: QualityPreset("final", 1920, 30, "veryfast", 20),
}
DEFAULT_QUALITY = common_pb2.QUALITY_DRAFT


@dataclass(frozen=True)
class EncoderProfile:
    """Everything that must be identical across the segments of one video."""

    width: int
    height: int
    fps: int
    quality: str
    x264_preset: str
    crf: int
    gop: int

    @property
    def x264_options(self) -> dict[str, str]:
        # Fixed GOP (no scene-cut keyframes, closed GOPs) so every segment has the same structure
        # and any segment can start with an IDR frame; the SPS/PPS then match across segments.
        return {
            "preset": self.x264_preset,
            "crf": str(self.crf),
            "profile": "high",
            "x264-params": (
                f"keyint={self.gop}:min-keyint={self.gop}:scenecut=0:open-gop=0:"
                "colorprim=bt709:transfer=bt709:colormatrix=bt709:range=tv"
            ),
        }


def _even(value: int) -> int:
    return max(2, value - (value % 2))


def resolve_profile(video: common_pb2.VideoSettings, aspect: float | None = None) -> EncoderProfile:
    """Fill the request's zero fields from its quality preset.

    Width/height/fps given in the request win; a missing height follows `aspect` (width/height,
    e.g. of the keyframes; 16:9 when unknown), a missing width follows the height. Sizes are
    rounded down to even numbers because yuv420p needs them.
    """
    preset = PRESETS.get(video.quality or DEFAULT_QUALITY)
    if preset is None:
        raise InvalidInput(f"unknown video quality {video.quality}")
    aspect = aspect if aspect and aspect > 0 else 16 / 9
    if video.width < 0 or video.height < 0 or video.fps < 0:
        raise InvalidInput("video width, height and fps must not be negative")
    width = _even(video.width) if video.width else 0
    height = _even(video.height) if video.height else 0
    if not width and not height:
        width = preset.width
    if not width:
        width = round(height * aspect)
    if not height:
        height = round(width / aspect)
    width, height = _even(width), _even(height)
    fps = video.fps or preset.fps
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise InvalidInput(
            f"video size {width}x{height} is outside {MIN_SIDE}..{MAX_SIDE} pixels per side"
        )
    if not (MIN_FPS <= fps <= MAX_FPS):
        raise InvalidInput(f"video fps {fps} is outside {MIN_FPS}..{MAX_FPS}")
    return EncoderProfile(
        width=width,
        height=height,
        fps=fps,
        quality=preset.name,
        x264_preset=preset.x264_preset,
        crf=preset.crf,
        gop=2 * fps,
    )
