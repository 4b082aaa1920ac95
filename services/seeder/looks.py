"""Looks: palette and lighting variants within a video's one palette (a shot's `look` index).

A look never brings a colour the video's palette does not have: it re-casts the palette's own
hues into other roles (the accent becomes the mid, the light takes the accent's hue, ...), turns
its brightness and saturation, and chooses a lighting: night, day, backlit, neon glow, haze or
a duotone in the palette's accent. The same index always gives the same grading; neighbouring
indices differ clearly (the storyboard gives contrasting sections different looks).

Most looks also grade onto a colour axis of their own (chroma_axis): chroma across the hue of
one palette role is cut back, so every place and framing under the look shares its colours
(the second chorus's street and its skyline are one world, a verse under another look is
another); the colours along the axis keep their full strength.

The colour part is affine per pixel (out = M rgb + c), so it applies to premultiplied layers
exactly (the offset scaled by alpha) and parallax layers keep the keyframe's look; the axis
folds into the same matrix (no extra pass over the pixels).
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

# Chroma kept across a look's colour axis: every place and framing under one look shares its
# two colours (so a chorus is one world however its shots are framed) and keeps 40 % of the
# others (the windows, signs and the subject's rim still read).
AXIS_KEEP = 0.4


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
    # The look's colour axis (chroma_axis): the palette role whose hue it runs through ("key":
    # the mid and the accent mixed; "" none), and the chroma kept across it.
    axis: str = ""
    axis_keep: float = AXIS_KEEP


# How each look of the shared vocabulary (scene_vocabulary.LOOKS, which Shot.look indexes) is drawn.
_DRAWN: dict[str, Look] = {
    look.name: look
    for look in (
        Look("base", axis="key"),
        Look("glow", recast="swap", sat=1.2, lighting="glow", bloom=1.8, axis="light"),
        Look("backlit", recast="light", val=0.8, lighting="backlit", vignette=1.3, axis="light"),
        Look("day", hue=0.02, sat=0.8, val=1.15, lighting="day", bloom=0.6, vignette=0.5),
        Look("duotone", recast="rotate", lighting="duo", bloom=1.2),
        Look("haze", recast="swap", hue=-0.03, sat=0.75, lighting="haze", vignette=0.7),
        Look(
            "deep",
            recast="rotate",
            hue=0.04,
            sat=1.1,
            val=0.78,
            lighting="night",
            bloom=1.4,
            axis="mid",
        ),
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
    """out = m @ rgb + c * alpha (m a 3x3 matrix, c a colour): the scene grade and a look's
    colour grade folded into one pass over the pixels (each step is of this form)."""

    m: np.ndarray
    c: np.ndarray

    @classmethod
    def of(cls, a: float, b: np.ndarray, c: np.ndarray) -> LookGrade:
        """x -> a x + luma(x) b + c."""
        return cls(np.eye(3) * a + np.outer(b, _LUMA), np.asarray(c, np.float64))

    def apply(self, rgb: np.ndarray, alpha: np.ndarray | float = 1.0) -> np.ndarray:
        # cv2.transform does the per-pixel 3x3 (+ offset) in one vectorised pass, ~3x faster
        # than the same sums in numpy with broadcast temporaries.
        if isinstance(alpha, np.ndarray):
            out = cv2.transform(rgb, self.m)
            if self.c.any():
                out += alpha[..., None] * self.c.astype(F32)
            return out
        return cv2.transform(rgb, np.concatenate([self.m, (self.c * alpha)[:, None]], axis=1))

    def then(self, a: float, b: np.ndarray, c: np.ndarray) -> LookGrade:
        """This grade followed by x -> a x + luma(x) b + c."""
        return self.followed_by(LookGrade.of(a, b, c))

    def followed_by(self, g: LookGrade) -> LookGrade:
        return LookGrade(g.m @ self.m, g.m @ self.c + g.c)


_LUMA = np.array([0.2126, 0.7152, 0.0722], F32)


def look_grade(look: Look, pal: Palette, base: tuple[float, float, float]) -> LookGrade:
    """The scene grade (A, B, C of scene.Grade), the look's lighting grade, then its colour
    axis (chroma_axis)."""
    lit = _lighting_grade(look, pal, base)
    if not look.axis or look.axis_keep >= 1.0:
        return lit
    key = d.mix(pal.mid, pal.accent, 0.5) if look.axis == "key" else getattr(pal, look.axis)
    return lit.followed_by(chroma_axis(key, look.axis_keep))


def chroma_axis(key: RGB, keep: float) -> LookGrade:
    """A colour-axis grade: each colour's chroma across the key colour's hue axis is kept at
    `keep`, along it in full, luma untouched. Hues pull toward the key and its complement (the
    way a teal-and-orange grade pulls a picture onto two colours), so every place and framing
    under one look shares its colours while what it shows still differs."""
    g = np.ones(3)
    lum = _LUMA.astype(np.float64)
    u = np.asarray(key, np.float64)
    u = u - float(lum @ u) * g  # the key's chroma (luma 0)
    w = np.cross(lum, u)  # in the chroma plane (luma 0), across the key's axis
    n2 = float(w @ w)
    if n2 < 1e-8:  # a grey key: no axis
        return LookGrade(np.eye(3), np.zeros(3))
    # x = luma(x) g + chroma(x); the chroma's w-component (chroma . w / |w|^2) shrinks.
    row = (w - float(w @ g) * lum) / n2
    return LookGrade(np.eye(3) - (1.0 - keep) * np.outer(w, row), np.zeros(3))


def _lighting_grade(look: Look, pal: Palette, base: tuple[float, float, float]) -> LookGrade:
    grade = LookGrade.of(base[0], np.full(3, base[1], F32), np.full(3, base[2], F32))
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
