"""Timed lyric captions: readable (sized to the frame, outlined), inside the title-safe area.

Each line is rasterised once with Pillow into a small RGBA patch and blended into the frames
where it is active; a line is visible on exactly the frames whose time is in [start, end).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from services.animator.planes import Planes, rgb_to_planes

SAFE_MARGIN = 0.05  # title-safe: 5 % of each side
MAX_LINES = 3
_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
)


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for candidate in _FONT_CANDIDATES:
        if Path(candidate).is_file():
            return ImageFont.truetype(candidate, size)
    return ImageFont.load_default(size=size)


def font_size_for(width: int, height: int) -> int:
    """About 5.5 % of the short side: ~40 px at 720p, ~59 px on a 1080x1920 portrait."""
    return max(12, round(0.055 * min(width, height)))


def wrap_text(
    text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, max_w: float
) -> list[str]:
    words = text.split()
    lines: list[str] = []
    current = ""
    for word in words:
        trial = f"{current} {word}".strip()
        if current and font.getlength(trial) > max_w:
            lines.append(current)
            current = word
        else:
            current = trial
    if current:
        lines.append(current)
    return lines


@dataclass(frozen=True)
class CaptionPatch:
    x: int  # even, so the chroma patch aligns
    y: int
    planes: Planes
    alpha: np.ndarray  # float32 0..1, luma resolution
    alpha_half: np.ndarray  # float32 0..1, chroma resolution


def layout_caption(text: str, width: int, height: int) -> CaptionPatch | None:
    """Rasterise one lyric line, wrapped and shrunk until it fits the safe area's width."""
    text = " ".join(text.split())
    if not text:
        return None
    safe_w = width * (1 - 2 * SAFE_MARGIN)
    size = font_size_for(width, height)
    while True:
        font = _font(size)
        lines = wrap_text(text, font, safe_w)
        widest = max(font.getlength(line) for line in lines)
        if (len(lines) <= MAX_LINES and widest <= safe_w) or size <= 12:
            break
        size = max(12, int(size * 0.9))
    stroke = max(2, size // 12)
    line_h = int(size * 1.25)
    box_w = int(min(widest, safe_w)) + 2 * stroke + 4
    box_h = line_h * len(lines) + 2 * stroke + 4
    img = Image.new("RGBA", (box_w, box_h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        lw = font.getlength(line)
        draw.text(
            ((box_w - lw) / 2, stroke + 2 + i * line_h),
            line,
            font=font,
            fill=(255, 255, 255, 255),
            stroke_width=stroke,
            stroke_fill=(0, 0, 0, 255),
        )
    rgba = np.asarray(img)
    box_w, box_h = min(box_w, width) // 2 * 2, min(box_h, height) // 2 * 2
    rgba = np.ascontiguousarray(rgba[:box_h, :box_w])
    x = (width - box_w) // 4 * 2
    # Bottom of the title-safe area.
    y = max(0, int(height * (1 - SAFE_MARGIN)) - box_h) // 2 * 2
    alpha = rgba[..., 3].astype(np.float32) / 255.0
    return CaptionPatch(
        x=x,
        y=y,
        planes=rgb_to_planes(np.ascontiguousarray(rgba[..., :3])),
        alpha=alpha,
        alpha_half=cv2.resize(alpha, (box_w // 2, box_h // 2), interpolation=cv2.INTER_AREA),
    )


@dataclass
class CaptionTrack:
    lines: list[tuple[float, float, str]]
    width: int
    height: int
    _starts: list[float] = field(init=False)
    _cache: dict[int, CaptionPatch | None] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.lines = sorted((s, e, txt) for s, e, txt in self.lines if e > s and txt.strip())
        self._starts = [s for s, _, _ in self.lines]

    def active(self, t: float) -> int:
        """Index of the line shown at time t, or -1 (the latest started line wins overlaps)."""
        i = bisect.bisect_right(self._starts, t + 1e-9) - 1
        if i >= 0 and t < self.lines[i][1]:
            return i
        return -1

    def draw(self, img: Planes, t: float) -> bool:
        i = self.active(t)
        if i < 0:
            return False
        if i not in self._cache:
            self._cache[i] = layout_caption(self.lines[i][2], self.width, self.height)
        patch = self._cache[i]
        if patch is None:
            return False
        h, w = patch.alpha.shape
        roi = img.y[patch.y : patch.y + h, patch.x : patch.x + w]
        roi[:] = cv2.blendLinear(patch.planes.y, roi, patch.alpha, 1.0 - patch.alpha)
        x2, y2, a2 = patch.x // 2, patch.y // 2, patch.alpha_half
        for plane, src in ((img.u, patch.planes.u), (img.v, patch.planes.v)):
            roi_c = plane[y2 : y2 + h // 2, x2 : x2 + w // 2]
            roi_c[:] = cv2.blendLinear(src, roi_c, a2, 1.0 - a2)
        return True
