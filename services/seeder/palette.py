"""Palettes: five roles (deep, shadow, mid, light, accent) built from prompt colours and mood.

Colours are RGB floats in 0..1. Prompts without colour words get a harmonious palette whose hue
and scheme come from a hash of their words, so every unknown prompt has its own look.
"""

from __future__ import annotations

import colorsys
import hashlib
from dataclasses import dataclass

import numpy as np

from services.seeder.vocabulary import Interpretation

RGB = tuple[float, float, float]


def hex_to_rgb(value: str) -> RGB:
    value = value.lstrip("#")
    return (int(value[0:2], 16) / 255.0, int(value[2:4], 16) / 255.0, int(value[4:6], 16) / 255.0)


def rgb_to_hex(rgb: RGB | np.ndarray) -> str:
    r, g, b = (int(round(min(max(float(c), 0.0), 1.0) * 255)) for c in rgb)
    return f"#{r:02x}{g:02x}{b:02x}"


def _hsv(rgb: RGB) -> tuple[float, float, float]:
    return colorsys.rgb_to_hsv(*rgb)


def _from_hsv(h: float, s: float, v: float) -> RGB:
    return colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0.0), 1.0), min(max(v, 0.0), 1.0))


def luminance(rgb: RGB) -> float:
    return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]


def stable_hash(*parts: object) -> int:
    """A hash that is the same in every process (Python's hash() is salted)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


@dataclass(frozen=True)
class Palette:
    deep: RGB
    shadow: RGB
    mid: RGB
    light: RGB
    accent: RGB

    def as_hex(self) -> list[str]:
        return [rgb_to_hex(c) for c in (self.deep, self.shadow, self.mid, self.light, self.accent)]

    def array(self) -> np.ndarray:
        return np.array([self.deep, self.shadow, self.mid, self.light, self.accent], np.float32)

    def ramp(self, t: np.ndarray, stops: tuple[RGB, ...] | None = None) -> np.ndarray:
        """Map values 0..1 to colours along deep -> shadow -> mid -> light (HxW -> HxWx3)."""
        cols = np.array(stops or (self.deep, self.shadow, self.mid, self.light), np.float32)
        xs = np.linspace(0.0, 1.0, len(cols), dtype=np.float32)
        # 256-entry lookup table: interpolating a table is far cheaper than per-pixel np.interp.
        grid = np.linspace(0.0, 1.0, 256, dtype=np.float32)
        lut = np.stack([np.interp(grid, xs, cols[:, c]) for c in range(3)], axis=1)
        idx = np.clip(t * 255.0, 0, 255).astype(np.uint8)
        return lut.astype(np.float32)[idx]

    def shifted(self, hue: float = 0.0, sat: float = 1.0, val: float = 1.0) -> Palette:
        def f(c: RGB) -> RGB:
            h, s, v = _hsv(c)
            return _from_hsv(h + hue, s * sat, v * val)

        return Palette(*(f(c) for c in (self.deep, self.shadow, self.mid, self.light, self.accent)))


def _hash_palette_seed(words: list[str]) -> list[RGB]:
    """Colours for prompts with no colour words: hue and harmony scheme from the words' hash."""
    h = stable_hash("palette", *sorted(words)) if words else stable_hash("palette-empty")
    hue = (h % 360) / 360.0
    scheme = (h >> 12) % 4
    offsets = {
        0: (0.0, 0.08, -0.08),
        1: (0.0, 0.5, 0.04),
        2: (0.0, 0.33, 0.66),
        3: (0.0, 0.42, 0.58),
    }
    sat = 0.55 + ((h >> 20) % 30) / 100.0
    return [_from_hsv(hue + o, sat, 0.55 + 0.35 * (i == 0)) for i, o in enumerate(offsets[scheme])]


def build_palette(
    interp: Interpretation,
    *,
    mood_valence: float = 0.5,
    mood_brightness: float = 0.5,
    mood_energy: float = 0.5,
) -> Palette:
    """Five palette roles from the prompt's colours, nudged by the music's mood."""
    colors = [hex_to_rgb(c) for c in interp.colors] or _hash_palette_seed(interp.unknown)
    if len(colors) < 3:
        # Complete a thin palette with an analogous neighbour and a complementary accent.
        h, s, v = _hsv(colors[0])
        colors = [*colors, _from_hsv(h + 0.07, s * 0.9, v * 0.8), _from_hsv(h + 0.5, s, 0.9)][:4]

    by_lum = sorted(colors, key=luminance)
    darkest = by_lum[0]
    # Accent: the first vivid colour the prompt names (word order is the author's emphasis).
    vivid = [c for c in colors if _hsv(c)[1] >= 0.45 and _hsv(c)[2] >= 0.3]
    accent = vivid[0] if vivid else max(colors, key=lambda c: _hsv(c)[1] * (0.4 + _hsv(c)[2]))
    rest = [c for c in colors if c != accent]
    lightest = max(rest, key=luminance) if rest else _from_hsv(_hsv(accent)[0] + 0.08, 0.3, 1.0)
    mids = [c for c in rest if c not in (darkest, lightest)]
    # Mid: the next named colour; else a neighbour of the accent's hue.
    mid = mids[0] if mids else _from_hsv(_hsv(accent)[0] - 0.07, _hsv(accent)[1] * 0.8, 0.7)

    warmth = interp.warmth * 0.04 + (mood_valence - 0.5) * 0.03
    sat_k = 0.85 + 0.35 * mood_energy + 0.15 * interp.energy
    val_k = 0.9 + 0.25 * (mood_brightness - 0.5) + 0.12 * interp.light

    def tone(
        c: RGB | tuple[float, float, float],
        v_target: float | None = None,
        s_mul: float = 1.0,
        *,
        is_hsv: bool = False,
    ) -> RGB:
        h, s, v = c if is_hsv else _hsv(c)
        # Pull hues slightly toward orange (warm) or blue (cool).
        toward = 0.08 if warmth > 0 else 0.6
        dh = ((toward - h + 0.5) % 1.0) - 0.5
        h = h + dh * min(abs(warmth), 0.3)
        v = v if v_target is None else v_target
        return _from_hsv(h, s * sat_k * s_mul, v * val_k)

    hd, sd, _ = _hsv(darkest)
    deep = tone((hd, max(sd, 0.5), 0.0), 0.09, 1.1, is_hsv=True)
    shadow = tone((hd, max(sd, 0.45), 0.0), 0.26, 1.0, is_hsv=True)
    return Palette(
        deep=deep,
        shadow=shadow,
        mid=tone(mid, max(_hsv(mid)[2], 0.45)),
        light=tone(lightest, max(_hsv(lightest)[2], 0.85), 0.7),
        accent=tone(accent, max(_hsv(accent)[2], 0.85), 1.15),
    )
