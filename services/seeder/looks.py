"""Looks: palette and lighting variants within a video's one palette (a shot's `look` index).

A look never brings a colour the video's palette does not have: it re-casts the palette's own
hues into other roles (the accent becomes the mid, the light takes the accent's hue, ...), turns
its brightness and saturation, and chooses a lighting: night, day, backlit, neon glow, haze or
a duotone in the palette's accent. The same index always gives the same grading; neighbouring
indices differ clearly (the storyboard gives contrasting sections different looks).

The colour part is affine per pixel (out = rgb @ M + c), so it applies to premultiplied layers
exactly (the offset scaled by alpha) and parallax layers keep the keyframe's look.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import cv2
import numpy as np

from services.common.scene_vocabulary import LOOKS as LOOK_WORDS
from services.seeder import drawing as d
from services.seeder.drawing import F32
from services.seeder.palette import RGB, Palette


@dataclass(frozen=True)
class Look:
    name: str
    # Palette roles re-cast: "" keep, "swap" accent <-> mid hues, "light" the light takes the
    # accent's hue, "rotate" accent <- mid <- light <- accent.
    recast: str = ""
    hue: float = 0.0  # small hue turn (fraction of the wheel)
    sat: float = 1.0
    val: float = 1.0
    lighting: str = "night"  # night | day | backlit | glow | haze | duo
    bloom: float = 1.0  # bloom gain
    vignette: float = 1.0  # vignette gain


# How each look of the shared vocabulary (scene_vocabulary.LOOKS, which Shot.look indexes) is drawn.
_DRAWN: dict[str, Look] = {
    look.name: look
    for look in (
        Look("base"),
        Look("glow", recast="swap", sat=1.2, lighting="glow", bloom=1.8),
        Look("backlit", recast="light", val=0.8, lighting="backlit", vignette=1.3),
        Look("day", hue=0.02, sat=0.8, val=1.15, lighting="day", bloom=0.6, vignette=0.5),
        Look("duotone", recast="rotate", lighting="duo", bloom=1.2),
        Look("haze", recast="swap", hue=-0.03, sat=0.75, lighting="haze", vignette=0.7),
        Look("deep", recast="rotate", hue=0.04, sat=1.1, val=0.78, lighting="night", bloom=1.4),
        Look("noir", lighting="duo", sat=0.35, val=0.95, bloom=0.8, vignette=1.4),
    )
}
_missing = [w.name for w in LOOK_WORDS if w.name not in _DRAWN]
if _missing:
    raise ImportError(f"looks named in scene_vocabulary.LOOKS but not drawn: {_missing}")
LOOKS: tuple[Look, ...] = tuple(_DRAWN[w.name] for w in LOOK_WORDS)


def look_for(index: int) -> Look:
    return LOOKS[index % len(LOOKS)]


def _hsv(c: RGB) -> tuple[float, float, float]:
    return colorsys.rgb_to_hsv(*c)


def _with_hue(c: RGB, hue_from: RGB) -> RGB:
    h, _, _ = _hsv(hue_from)
    _, s, v = _hsv(c)
    s_from = _hsv(hue_from)[1]
    # A grey donor keeps the colour's own hue (there is no hue to give).
    if s_from < 0.08:
        return c
    return colorsys.hsv_to_rgb(h, max(s, 0.35 * s_from), v)


def look_palette(pal: Palette, look: Look) -> Palette:
    """The video's palette re-cast and turned for this look (same colours, other roles)."""
    p = pal
    if look.recast == "swap":
        p = Palette(
            p.deep, p.shadow, _with_hue(p.mid, p.accent), p.light, _with_hue(p.accent, p.mid)
        )
    elif look.recast == "light":
        p = Palette(p.deep, p.shadow, p.mid, _with_hue(p.light, p.accent), p.accent)
    elif look.recast == "rotate":
        p = Palette(
            _with_hue(p.deep, p.mid),
            _with_hue(p.shadow, p.mid),
            _with_hue(p.mid, p.light),
            _with_hue(p.light, p.accent),
            _with_hue(p.accent, p.mid),
        )
    if look.lighting == "day":
        # Daylight: the darks rise toward the mid colour, the picture opens up.
        p = Palette(
            d.mix(p.deep, p.mid, 0.45), d.mix(p.shadow, p.light, 0.3), p.mid, p.light, p.accent
        )
    return p.shifted(look.hue, look.sat, look.val)


@dataclass(frozen=True)
class LookGrade:
    """out = a * rgb + luma(rgb) * b + c * alpha, with b and c colours: the scene grade and a
    look's colour grade folded into one pass over the pixels (both are of this form)."""

    a: float
    b: np.ndarray
    c: np.ndarray

    def apply(self, rgb: np.ndarray, alpha: np.ndarray | float = 1.0) -> np.ndarray:
        # cv2.transform does the per-pixel 3x3 (+ offset) in one vectorised pass, ~3x faster
        # than the same sums in numpy with broadcast temporaries.
        m = np.eye(3, dtype=np.float64) * self.a + np.outer(self.b, _LUMA)
        if isinstance(alpha, np.ndarray):
            out = cv2.transform(rgb, m)
            if self.c.any():
                out += alpha[..., None] * self.c
            return out
        return cv2.transform(rgb, np.concatenate([m, (self.c * alpha)[:, None]], axis=1))

    def then(self, a: float, b: np.ndarray, c: np.ndarray) -> LookGrade:
        """This grade followed by x -> a x + luma(x) b + c (luma of a grey c is c)."""
        luma_b = float(self.b @ _LUMA)
        luma_c = float(self.c @ _LUMA)
        return LookGrade(
            a * self.a,
            (a * self.b + (self.a + luma_b) * b).astype(F32),
            (a * self.c + luma_c * b + c).astype(F32),
        )


_LUMA = np.array([0.2126, 0.7152, 0.0722], F32)


def look_grade(look: Look, pal: Palette, base: tuple[float, float, float]) -> LookGrade:
    """The scene grade (A, B, C of scene.Grade) followed by the look's colour grade."""
    grade = LookGrade(base[0], np.full(3, base[1], F32), np.full(3, base[2], F32))
    zero = np.zeros(3, F32)
    if look.lighting == "duo":
        # Duotone: luma mapped from the deep colour to a tint of the accent and the light.
        tint = np.asarray(d.mix(pal.accent, pal.light, 0.35), F32)
        deep = np.asarray(pal.deep, F32)
        k = 0.62
        return grade.then(1 - k, (tint - deep) * k * 1.25, deep * k)
    if look.lighting == "haze":
        return grade.then(0.84, zero, np.asarray(d.mix(pal.mid, pal.light, 0.4), F32) * 0.16)
    if look.lighting == "day":
        return grade.then(0.9, np.full(3, 0.08, F32), np.full(3, 0.05, F32))
    if look.lighting == "glow":
        # More colour: push each channel away from luma.
        return grade.then(1.25, np.full(3, -0.25, F32), zero)
    if look.lighting == "backlit":
        return grade.then(0.92, zero, zero)
    return grade


def backlight(h: int, w: int, pal: Palette, cx: float, cy: float, px: float) -> np.ndarray:
    """A strong light source behind the scene (added to the background): HxWx3."""
    r = d.radial(h, w, cx, cy, work=8)
    core = np.exp(-((r / 0.16) ** 2)) * 0.9 + np.exp(-r / 0.45) * 0.45
    col = np.asarray(d.mix(pal.light, pal.accent, 0.25), F32)
    return (core[..., None] * col).astype(F32)
