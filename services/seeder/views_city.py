"""City viewpoints beyond the skyline: street level, rooftop, a neon sign close up.

(The skyline is `motifs.city`; "window" is the skyline seen through glass, see frames.py.)
"""

from __future__ import annotations

import math

import numpy as np

from services.seeder import drawing as d
from services.seeder.drawing import F32, Layer
from services.seeder.motifs import Ctx, Layers, city


def street(ctx: Ctx) -> Layers:
    """One-point perspective down a wet street: facades with lit windows and neon on both sides,
    lamps shrinking to the vanishing point, light trails and reflections on the road."""
    h, w, rng, pal, inten, px = ctx.h, ctx.w, ctx.rng, ctx.pal, ctx.intensity, ctx.px
    vx, vy = ctx.focal[0] * w, ctx.horizon * h * 0.85
    bg = d.vgrad(
        h,
        w,
        [(0.0, pal.deep), (vy / h, d.mix(pal.shadow, pal.accent, 0.45)), (1.0, pal.deep)],
    )
    bg = d.add_light(bg, pal.accent, np.exp(-d.radial(h, w, vx / w, vy / h, work=4) / 0.2) * 0.6)
    mid = Layer(h, w)
    # Facades: left and right walls from the frame edges to a narrow gap at the vanishing point.
    gap = 0.035 * w
    walls, wall_polys = [], []
    for side in (-1, 1):
        near_x = 0.0 if side < 0 else float(w)
        far_x = vx + side * gap
        top_near, top_far = -0.2 * h, vy - (0.2 + 0.15 * rng.random()) * h * 0.6
        bot_near, bot_far = h * 0.98, vy + 0.02 * h
        walls.append((side, near_x, far_x, top_near, top_far, bot_near, bot_far))
        poly = np.array(
            [[near_x, top_near], [far_x, top_far], [far_x, bot_far], [near_x, bot_near]]
        )
        wall_polys.append(poly)
    mid.paint(d.mix(pal.deep, pal.shadow, 0.35), d.aa_poly_mask(h, w, wall_polys))
    # Windows and signs in perspective: columns spaced geometrically toward the gap.
    lit, signs = [], []
    for _side, near_x, far_x, tn, tf, bn, bf in walls:
        cols = 9
        us = 1.0 - 0.82 ** np.arange(cols + 1) * 1.0
        us = us / us[-1]
        for k in range(cols):
            u0, u1 = us[k], us[k] + (us[k + 1] - us[k]) * 0.6
            x0, x1 = near_x + (far_x - near_x) * u0, near_x + (far_x - near_x) * u1

            def ys(
                u: float, v: float, tn: float = tn, tf: float = tf, bn: float = bn, bf: float = bf
            ) -> float:
                top, bot = tn + (tf - tn) * u, bn + (bf - bn) * u
                return top + (bot - top) * v

            for j in range(7):
                v0, v1 = 0.12 + j * 0.1, 0.12 + j * 0.1 + 0.055
                if rng.random() < 0.25 + 0.35 * inten:
                    lit.append(
                        np.array(
                            [[x0, ys(u0, v0)], [x1, ys(u1, v0)], [x1, ys(u1, v1)], [x0, ys(u0, v1)]]
                        )
                    )
            if rng.random() < 0.45:  # a vertical neon sign on this bay
                v0, v1 = 0.2 + 0.3 * rng.random(), 0.0
                v1 = v0 + 0.18 + 0.1 * rng.random()
                xm = (x0 + x1) / 2
                signs.append((xm, ys(u0, v0), xm, ys(u0, v1), max(1.0, (1 - u0) * 9 * px)))
    if lit:
        mid.paint(pal.light, d.aa_poly_mask(h, w, lit) * 0.8)
    if signs:
        segs = np.array([s[:4] for s in signs], F32)
        tube = d.lines(
            h, w, segs, np.ones(len(signs), F32), np.array([s[4] for s in signs], np.int32)
        )
        mid.paint(pal.accent, np.clip(tube + d.glow(tube, 10 * px) * 2.2, 0, 1))
    # Road: wet asphalt with the city's light streaked down in reflections.
    rows = np.arange(h, dtype=F32)[:, None]
    road = np.clip((rows - vy) / max(1.0, h - vy), 0, 1) * np.ones((1, w), F32)
    xsn = np.arange(w, dtype=F32)[None, :]
    lane = np.abs(xsn - vx) < (rows - vy) * 1.6 * (w / h) * 0.55
    mid.paint(d.mix(pal.deep, pal.shadow, 0.25), (road > 0) * lane.astype(F32))
    streak = d.glow(mid.a * (mid.rgb @ np.array([0.2, 0.7, 0.1], F32) > 0.5), 3 * px)
    refl = np.flipud(streak)
    shift = int(max(0, 2 * vy - h))
    refl = np.roll(refl, -shift, axis=0) if shift else refl
    mid.paint(pal.accent, np.clip(refl * road * 1.5, 0, 0.6))
    # Light trails: tail lights converging on the vanishing point.
    trails: list[tuple[float, float, float, float]] = []
    vals: list[float] = []
    for _ in range(int(4 + 6 * inten)):
        x_near = vx + (rng.random() - 0.5) * w * 1.2
        trails.append(
            (x_near, h * (0.9 + 0.1 * rng.random()), vx + (x_near - vx) * 0.08, vy + 4 * px)
        )
        vals.append(0.5 + 0.5 * rng.random())
    trail = d.lines(h, w, np.array(trails, F32), np.array(vals, F32), max(1, int(3 * px)))
    fg = Layer(h, w)
    fg.paint(pal.accent, np.clip(trail + d.glow(trail, 6 * px) * 1.5, 0, 1) * 0.8)
    # Street lamps: glowing dots along both sides, smaller toward the vanishing point.
    n = 7
    t = 0.78 ** np.arange(n)
    lx = np.concatenate([vx + (0.0 - vx) * t * 0.9, vx + (w - vx) * t * 0.9])
    ly = np.concatenate([vy - (vy + 0.1 * h) * t * 0.55] * 2)
    lr = np.concatenate([t * 9 * px + px] * 2)
    lamps = d.dots(h, w, lx, ly, lr, np.ones(2 * n))
    fg.paint(pal.light, np.clip(lamps + d.glow(lamps, 14 * px) * 2.5, 0, 1))
    return Layers(bg, mid, fg)


def rooftop(ctx: Ctx) -> Layers:
    """The skyline seen from a roof: the city lower in the frame, a parapet, a water tank."""
    h, w, rng, pal, px = ctx.h, ctx.w, ctx.rng, ctx.pal, ctx.px
    base = city(ctx)
    ledge_y = (0.8 + 0.04 * rng.random()) * h
    fg = base.fg
    roof = Layer(h, w)
    rows = np.arange(h, dtype=F32)[:, None]
    tilt = (np.arange(w, dtype=F32)[None, :] - w / 2) * 0.03 * (1 if rng.random() < 0.5 else -1)
    ledge = np.clip(rows - (ledge_y + tilt) + 0.5, 0, 1)
    roof.paint(d.mix(pal.deep, (0, 0, 0), 0.4), ledge)
    # The parapet's lit top edge.
    edge = np.exp(-np.abs(rows - (ledge_y + tilt)) / (2 * px)) * ledge.max(axis=0, keepdims=True)
    roof.paint(d.mix(pal.accent, pal.light, 0.4), np.clip(edge, 0, 1) * 0.7)
    # Water tank on legs and an antenna on the side away from the focal point.
    side = 0.12 if ctx.focal[0] > 0.5 else 0.88
    tx, tw_, th_ = side * w, 0.09 * w, 0.16 * h
    top = ledge_y - th_ - 0.1 * h
    polys = [
        np.array(
            [
                [tx - tw_ / 2, top],
                [tx + tw_ / 2, top],
                [tx + tw_ / 2, top + th_],
                [tx - tw_ / 2, top + th_],
            ]
        ),
        np.array([[tx - tw_ * 0.55, top], [tx, top - 0.05 * h], [tx + tw_ * 0.55, top]]),
    ]
    legs = np.array(
        [
            (tx - tw_ * 0.4, top + th_, tx - tw_ * 0.5, ledge_y + 2 * px),
            (tx + tw_ * 0.4, top + th_, tx + tw_ * 0.5, ledge_y + 2 * px),
            (tx - tw_ * 0.45, top + th_ + 0.05 * h, tx + tw_ * 0.45, top + th_ + 0.05 * h),
            (w - tx, ledge_y, w - tx + 0.02 * w * (1 if side > 0.5 else -1), ledge_y - 0.35 * h),
        ],
        F32,
    )
    roof.paint(
        d.mix(pal.deep, (0, 0, 0), 0.5),
        np.maximum(
            d.aa_poly_mask(h, w, polys), d.lines(h, w, legs, np.ones(4, F32), max(1, int(3 * px)))
        ),
    )
    beacon = d.dots(
        h,
        w,
        np.array([w - tx + 0.02 * w * (1 if side > 0.5 else -1)]),
        np.array([ledge_y - 0.35 * h]),
        np.array([3 * px]),
        np.ones(1),
    )
    roof.paint(pal.accent, np.clip(beacon + d.glow(beacon, 8 * px) * 3, 0, 1))
    # Roof in the mid layer (it moves with the near plane less than the rain).
    base.mid.paint(roof.rgb / np.maximum(roof.a[..., None], 1e-4), roof.a)
    return Layers(base.bg, base.mid, fg)


def sign(ctx: Ctx) -> Layers:
    """A neon sign close up on a dark brick wall: glowing tubes in the palette's accents."""
    h, w, rng, pal, inten, px = ctx.h, ctx.w, ctx.rng, ctx.pal, ctx.intensity, ctx.px
    # Brick wall: staggered rows, mortar lines, a noise of soot and wet patches.
    rows = np.arange(h, dtype=F32)[:, None]
    cols = np.arange(w, dtype=F32)[None, :]
    bh = 26 * px
    bw = 2.3 * bh
    row_i = np.floor(rows / bh)
    offs = (row_i % 2) * bw / 2
    mortar = (((rows % bh) < 2 * px) | (((cols + offs) % bw) < 2 * px)).astype(F32)
    noise = d.fractal_noise(rng, h, w, scale=6.0, octaves=4)
    brick = d.mix(pal.deep, pal.shadow, 0.55)
    bg = np.ones((h, w, 3), F32) * np.asarray(brick, F32)
    bg *= (0.6 + 0.5 * noise)[..., None]
    bg *= (1.0 - 0.55 * np.clip(mortar, 0, 1))[..., None]
    mid = Layer(h, w)
    cx, cy = ctx.focal[0] * w, 0.48 * h
    sw, sh = 0.62 * w, 0.42 * h
    segs, segs2 = [], []
    # A rounded frame tube.
    n = 40
    for k in range(n):
        a0, a1 = 2 * math.pi * k / n, 2 * math.pi * (k + 1) / n

        def rr(a: float) -> tuple[float, float]:
            c, s = math.cos(a), math.sin(a)
            m = max(abs(c) / (sw / 2), abs(s) / (sh / 2)) ** 0.9
            return cx + c / m * 0.98, cy + s / m * 0.98

        segs.append((*rr(a0), *rr(a1)))
    # Pseudo-letters: strokes on a 3x5 grid per glyph (a word the eye reads as lettering).
    glyphs = 3 + int(rng.integers(0, 3))
    gw = sw * 0.75 / glyphs
    for g in range(glyphs):
        gx = cx - sw * 0.375 + g * gw + gw * 0.15
        pts = [
            (gx + gw * 0.7 * (i % 3) / 2, cy - sh * 0.22 + sh * 0.44 * (i // 3) / 4)
            for i in range(15)
        ]
        strokes = [(0, 12), (2, 14), (0, 2), (12, 14), (6, 8), (0, 14), (2, 12), (1, 13)]
        picks = rng.choice(len(strokes), size=3, replace=False)
        for p in picks:
            a, b = strokes[int(p)]
            segs2.append((*pts[a], *pts[b]))
    tube = d.lines(h, w, np.array(segs, F32), np.ones(len(segs), F32), max(2, int(7 * px)))
    letters = d.lines(h, w, np.array(segs2, F32), np.ones(len(segs2), F32), max(2, int(9 * px)))
    for mask, col in ((tube, pal.accent), (letters, d.mix(pal.mid, pal.light, 0.3))):
        halo = d.glow(mask, 22 * px) * (2.0 + 1.5 * inten)
        bg = d.add_light(bg, col, halo * 0.45)
        mid.paint(col, np.clip(mask + d.glow(mask, 5 * px) * 1.5, 0, 1))
        mid.paint(d.mix(col, (1, 1, 1), 0.7), mask * 0.8)  # white-hot tube cores
    fg = Layer(h, w)
    # Mounting brackets and a cable.
    br = np.array(
        [
            (cx - sw * 0.4, cy - sh / 2, cx - sw * 0.4, cy - sh * 0.75),
            (cx + sw * 0.4, cy - sh / 2, cx + sw * 0.4, cy - sh * 0.75),
        ],
        F32,
    )
    fg.paint(pal.deep, d.lines(h, w, br, np.ones(2, F32), max(1, int(4 * px))))
    return Layers(bg, mid, fg)
