"""Abstract / effect shots: light streaks, particles, shapes, rings, in the video's palette.

They carry no place, only light that the animator can pulse with the music; any prompt can cut
to them (the storyboard's FRAMING_ABSTRACT).
"""

from __future__ import annotations

import math

import numpy as np

from services.seeder import drawing as d
from services.seeder.drawing import F32, Layer
from services.seeder.motifs import Ctx, Layers, _bokeh, _focal_glow, _particles


def _dark(ctx: Ctx) -> np.ndarray:
    pal = ctx.pal
    bg = d.vgrad(
        ctx.h, ctx.w, [(0.0, pal.deep), (0.5, d.mix(pal.deep, pal.shadow, 0.6)), (1.0, pal.deep)]
    )
    return _focal_glow(ctx, bg, pal.shadow, 0.5, 0.6)


def streaks(ctx: Ctx) -> Layers:
    """Long-exposure light streaks sweeping across the frame in two or three colours."""
    h, w, rng, pal, inten, px = ctx.h, ctx.w, ctx.rng, ctx.pal, ctx.intensity, ctx.px
    bg = _dark(ctx)
    mid, fg = Layer(h, w), Layer(h, w)
    ang = rng.uniform(-0.5, 0.5)
    for layer, col, n, th in (
        (mid, pal.accent, 10, 4),
        (fg, pal.light, 6, 2),
        (mid, pal.mid, 8, 6),
    ):
        k = int(n * (0.6 + 0.8 * inten))
        t = np.linspace(0, 1, 64)
        segs = []
        for _ in range(k):
            y0 = rng.random() * h
            amp = rng.uniform(0.05, 0.25) * h
            ph, fr = rng.random() * 6.28, rng.uniform(0.6, 1.6)
            xs = t * w * 1.2 - 0.1 * w
            ys = y0 + amp * np.sin(t * fr * 6.28 + ph) + (xs - w / 2) * math.tan(ang)
            segs += [(xs[i], ys[i], xs[i + 1], ys[i + 1]) for i in range(len(t) - 1)]
        mask = d.lines(h, w, np.array(segs, F32), np.ones(len(segs), F32), max(1, int(th * px)))
        layer.paint(col, np.clip(mask * 0.9 + d.glow(mask, 9 * px) * 2.0, 0, 1))
    return Layers(bg, mid, fg)


def particles(ctx: Ctx) -> Layers:
    """A burst of glowing particles from the focal point, with soft bokeh behind."""
    h, w, rng, pal, inten, px = ctx.h, ctx.w, ctx.rng, ctx.pal, ctx.intensity, ctx.px
    bg = _dark(ctx)
    mid, fg = Layer(h, w), Layer(h, w)
    n = 9
    blobs = _bokeh(ctx, n, 30, 70)
    mid.paint(pal.mid, d.glow(blobs, 6 * px) * 0.5)
    fx, fy = ctx.focal[0] * w, ctx.focal[1] * h
    m = int(300 + 500 * inten)
    ang = rng.random(m) * 2 * math.pi
    rad = rng.random(m) ** 0.7 * 0.75 * w
    ln = (4 + rng.random(m) * 30) * px * (0.3 + rad / w)
    x0, y0 = fx + np.cos(ang) * rad, fy + np.sin(ang) * rad
    segs = np.stack([x0, y0, x0 + np.cos(ang) * ln, y0 + np.sin(ang) * ln], 1).astype(F32)
    sparks = d.lines(h, w, segs, (rng.random(m) * 0.7 + 0.3).astype(F32), max(1, int(2 * px)))
    fg.paint(pal.accent, np.clip(sparks + d.glow(sparks, 5 * px) * 1.5, 0, 1))
    _particles(ctx, fg, int(80 + 120 * inten), pal.light, (1.0, 3.0), glow_px=6)
    core = np.exp(-d.radial(h, w, ctx.focal[0], ctx.focal[1], work=4) / 0.08)
    bg = d.add_light(bg, d.mix(pal.accent, pal.light, 0.5), core * 0.8)
    return Layers(bg, mid, fg)


def shapes(ctx: Ctx) -> Layers:
    """Big soft-edged shapes (circles, triangles, bars) overlapping in the palette."""
    h, w, rng, pal, inten, px = ctx.h, ctx.w, ctx.rng, ctx.pal, ctx.intensity, ctx.px
    bg = _dark(ctx)
    mid, fg = Layer(h, w), Layer(h, w)
    cols = (pal.accent, pal.mid, pal.light, d.mix(pal.accent, pal.mid, 0.5))
    for i in range(5 + int(4 * inten)):
        cx, cy = rng.random() * w, rng.random() * h
        s = (0.12 + 0.25 * rng.random()) * h
        kind = int(rng.integers(0, 3))
        if kind == 0:
            mask = d.dots(h, w, np.array([cx]), np.array([cy]), np.array([s]), np.ones(1))
        else:
            sides = 3 if kind == 1 else 4
            a0 = rng.random() * math.pi
            poly = np.array(
                [
                    (
                        cx + s * math.cos(a0 + 2 * math.pi * j / sides),
                        cy + s * math.sin(a0 + 2 * math.pi * j / sides),
                    )
                    for j in range(sides)
                ]
            )
            mask = d.aa_poly_mask(h, w, [poly])
        layer = mid if i % 2 else fg
        layer.paint(cols[i % len(cols)], mask * (0.35 + 0.3 * rng.random()))
    lines_n = int(6 + 10 * inten)
    ys = rng.random(lines_n) * h
    segs = np.stack(
        [np.zeros(lines_n), ys, np.full(lines_n, w), ys + rng.normal(0, 0.05, lines_n) * h], 1
    ).astype(F32)
    bars = d.lines(h, w, segs, np.ones(lines_n, F32), max(1, int(2 * px)))
    fg.paint(pal.light, np.clip(bars * 0.5 + d.glow(bars, 5 * px), 0, 1) * 0.6)
    return Layers(bg, mid, fg)


def rings(ctx: Ctx) -> Layers:
    """Concentric glowing rings expanding from the focal point (a pulse made visible)."""
    h, w, rng, pal, inten, px = ctx.h, ctx.w, ctx.rng, ctx.pal, ctx.intensity, ctx.px
    bg = _dark(ctx)
    mid, fg = Layer(h, w), Layer(h, w)
    dist = d.radial(h, w, ctx.focal[0], ctx.focal[1], work=2)
    spacing = 0.07 + 0.05 * rng.random()
    phase = (dist / spacing) % 1.0
    ring = np.exp(-(((phase - 0.5) / 0.05) ** 2)) * np.exp(-dist / (0.6 + 0.4 * inten))
    mid.paint(pal.accent, np.clip(ring * 1.2, 0, 1).astype(F32))
    wide = np.exp(-(((dist - 0.35) / 0.02) ** 2))
    fg.paint(pal.light, np.clip(wide + d.glow(wide.astype(F32), 10 * px), 0, 1).astype(F32) * 0.7)
    _particles(ctx, fg, int(40 + 80 * inten), pal.light, (0.8, 2.0), glow_px=5)
    return Layers(bg, mid, fg)
