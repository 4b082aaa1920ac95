"""Character images: the figure cut out (validation and cut-out rules are shared with the
gateway in services/common/character_image.py), graded to the palette, scaled.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import cv2
import numpy as np

from services.common.character_image import (
    ALLOWED_FORMATS,
    MIN_SIDE,
    WORK_SIDE,
    CharacterLimits,
    cutout_mask,
    decode_image,
    figure_rgba,
)
from services.seeder.drawing import F32
from services.seeder.palette import Palette

# Re-exported: the seeder's backends and tests name them from here.
__all__ = [
    "ALLOWED_FORMATS",
    "MIN_SIDE",
    "WORK_SIDE",
    "Character",
    "CharacterLimits",
    "character_height",
    "cutout_mask",
    "decode_image",
    "load_character",
]


@dataclass(frozen=True)
class Character:
    name: str
    sha256: str
    rgba: np.ndarray  # uint8 HxWx4, cropped to the figure, alpha = cut-out mask
    had_alpha: bool

    @property
    def mask(self) -> np.ndarray:
        return self.rgba[..., 3]


def load_character(data: bytes, name: str, limits: CharacterLimits | None = None) -> Character:
    rgba, had_alpha = figure_rgba(data, f"character image {name!r}", limits)
    return Character(name, hashlib.sha256(data).hexdigest(), rgba, had_alpha)


def character_height(frame_h: int, frame_w: int, chars: list[Character]) -> int:
    """One on-screen height for every character in every keyframe of a video (consistency)."""
    target = 0.62 * frame_h
    total_aspect = sum(c.rgba.shape[1] / c.rgba.shape[0] for c in chars) * 1.08
    # Never wider, all together, than 90% of the frame (matters for 9:16 portrait video).
    target = min(target, 0.9 * frame_w / max(total_aspect, 1e-6))
    return max(8, int(round(target)))


def scale_character(char: Character, height: int) -> np.ndarray:
    h, w = char.rgba.shape[:2]
    width = max(1, int(round(w * height / h)))
    interp = cv2.INTER_AREA if height < h else cv2.INTER_CUBIC
    return cv2.resize(char.rgba, (width, height), interpolation=interp)


def grade_character(
    rgba_u8: np.ndarray, pal: Palette, light_side: float, strength: float = 0.3
) -> np.ndarray:
    """Tint toward the palette (keeping the figure's own shading) and add a rim light."""
    rgba = rgba_u8.astype(F32) / 255.0
    rgb, alpha = rgba[..., :3], rgba[..., 3]
    luma = rgb @ np.array([0.2126, 0.7152, 0.0722], F32)
    toned = pal.ramp(np.clip(luma * 1.1, 0, 1), (pal.deep, pal.shadow, pal.mid, pal.light))
    out = rgb * (1 - strength) + toned * strength
    shift = max(1, int(round(rgba.shape[0] / 160)))
    moved = np.roll(alpha, int(-light_side * shift), axis=1)
    rim = np.clip(alpha - moved, 0, 1)
    out = out + np.asarray(pal.light, F32) * rim[..., None] * 0.8
    return np.concatenate([np.clip(out, 0, 1), alpha[..., None]], axis=2).astype(F32)
