"""More viewpoints for the non-city families: each a different place or distance, same palette.

space: planet, warp · water: shore, pier, glints · forest: path, canopy, leaves ·
fire: campfire, embers · aurora: zenith, snowfield · geometric: tunnel, grid ·
desert: road, canyon · underwater: surface, abyss. (The first view of each family is the
family's own renderer in motifs.py.)
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from services.seeder import drawing as d
from services.seeder.drawing import F32, Layer
from services.seeder.motifs import Ctx, Layers, _bokeh, _focal_glow, _particles, _sparkles, _stars

# --------------------------------------------------------------------------- helpers


def _sky(ctx: Ctx, top: float = 0.0) -> np.ndarray:
    pal, hz = ctx.pal, ctx.horizon
    return d.vgrad(
        ctx.h,
        ctx.w,
        [
            (0.0, d.mix(pal.deep, pal.shadow, top)),
            (hz * 0.7, d.mix(pal.shadow, pal.mid, 0.35)),
            (hz, d.mix(pal.mid, pal.accent, 0.45)),
            (1.0, pal.deep),
        ],
    )


def _perspective_strips(
    h: int, w: int, vx: float, vy: float, xs_near: np.ndarray, y_near: float, thick: int
) -> np.ndarray:
    """Lines from points on a near row toward the vanishing point (boards, rails, lanes)."""
    segs = np.stack(
        [
            xs_near,
            np.full_like(xs_near, y_near),
            vx + (xs_near - vx) * 0.02,
            np.full_like(xs_near, vy),
        ],
        1,
    )
    return d.lines(h, w, segs.astype(F32), np.ones(len(xs_near), F32), thick)


# --------------------------------------------------------------------------- space


def planet(ctx: Ctx) -> Layers:
    """A giant planet's limb filling the lower frame, a thin lit atmosphere, a moon beyond."""
    h, w, rng, pal, inten, px = ctx.h, ctx.w, ctx.rng, ctx.pal, ctx.intensity, ctx.px
    bg = d.vgrad(h, w, [(0.0, pal.deep), (1.0, d.mix(pal.deep, pal.shadow, 0.5))])
    _stars(ctx, bg, int(w * h / 500), pal.light)
    mid = Layer(h, w)
    r = 1.6 * w
    cx, cy = (0.5 + 0.3 * (rng.random() - 0.5)) * w, 0.62 * h + r
    dist = d.radial(h, w, cx / w, cy / h, work=2) * h
    disc = np.clip(r - dist, 0, 1)
    depth = np.clip((r - dist) / (0.5 * h), 0, 1)
    bands = d.fractal_noise(rng, h, w, scale=1.0, octaves=4, stretch=(6.0, 0.4))
    surf = pal.ramp(bands * 0.8 + 0.1, (pal.deep, pal.shadow, pal.mid, pal.accent))
    xs = np.arange(w, dtype=F32)[None, :] / w
    lit = np.clip(0.3 + 0.9 * (xs - 0.5) * ctx.light_side + 0.4, 0.1, 1.2)
    surf = surf * (lit * (1 - 0.6 * depth))[..., None]
    mid.paint(surf, disc)
    atmo = np.exp(-np.abs(dist - r) / (10 * px)) * (0.5 + 0.5 * lit)
    mid.paint(d.mix(pal.accent, pal.light, 0.5), np.clip(atmo, 0, 1) * (0.7 + 0.3 * inten))
    mx, my, mr = (0.2 if ctx.light_side > 0 else 0.8) * w, 0.25 * h, 0.05 * h
    moon = d.dots(h, w, np.array([mx]), np.array([my]), np.array([mr]), np.ones(1))
    mid.paint(d.mix(pal.light, pal.mid, 0.3), moon)
    fg = Layer(h, w)
    _sparkles(ctx, fg, int(4 + 10 * inten), pal.light, (0.0, 0.5))
    return Layers(bg, mid, fg)


def warp(ctx: Ctx) -> Layers:
    """Stars stretched into streaks rushing out of the centre: the jump to light speed."""
    h, w, rng, pal, inten, px = ctx.h, ctx.w, ctx.rng, ctx.pal, ctx.intensity, ctx.px
    fx, fy = ctx.focal[0] * w, ctx.focal[1] * h
    bg = _focal_glow(ctx, d.vgrad(h, w, [(0.0, pal.deep), (1.0, pal.deep)]), pal.shadow, 0.3, 1.0)
    mid, fg = Layer(h, w), Layer(h, w)
    for layer, col, n, th in ((mid, pal.accent, 260, 2), (fg, pal.light, 160, 2)):
        k = int(n * (0.6 + 0.8 * inten))
        ang = rng.random(k) * 2 * math.pi
        r0 = (0.03 + rng.random(k) ** 1.5 * 0.6) * w
        ln = r0 * (0.2 + 0.5 * rng.random(k))
        segs = np.stack(
            [
                fx + np.cos(ang) * r0,
                fy + np.sin(ang) * r0,
                fx + np.cos(ang) * (r0 + ln),
                fy + np.sin(ang) * (r0 + ln),
            ],
            1,
        )
        mask = d.lines(
            h, w, segs.astype(F32), (0.4 + 0.6 * rng.random(k)).astype(F32), max(1, int(th * px))
        )
        layer.paint(col, np.clip(mask + d.glow(mask, 4 * px), 0, 1))
    core = np.exp(-d.radial(h, w, ctx.focal[0], ctx.focal[1], work=4) / 0.05)
    fg.paint(pal.light, core.astype(F32) * 0.8)
    return Layers(bg, mid, fg)


# --------------------------------------------------------------------------- water


def shore(ctx: Ctx) -> Layers:
    """A beach: sand in the foreground, waves breaking in white foam lines, the sea beyond."""
    h, w, rng, pal, inten, px = ctx.h, ctx.w, ctx.rng, ctx.pal, ctx.intensity, ctx.px
    hz = ctx.horizon
    bg = _sky(ctx)
    sx = ctx.focal[0]
    bg = d.add_light(bg, pal.accent, np.exp(-d.radial(h, w, sx, hz - 0.08, work=4) / 0.2) * 0.7)
    mid = Layer(h, w)
    rows = np.arange(h, dtype=F32)[:, None]
    sea = d.vgrad(
        h, w, [(0.0, pal.deep), (hz, d.mix(pal.accent, pal.shadow, 0.5)), (1.0, pal.shadow)]
    )
    mid.paint(sea, np.clip(rows - hz * h, 0, 1) * np.ones((1, w), F32))
    xs = np.linspace(0, 1, w, dtype=F32)
    sand_col = d.mix(pal.mid, pal.light, 0.35)
    for k in range(5):
        depth = (k + 1) / 5
        base = (hz + (1 - hz) * (0.18 + 0.55 * depth**1.6)) * h
        curve = base + (0.01 + 0.03 * depth) * h * d.noise_1d(rng, w, scale=2 + k)
        foam = np.exp(-np.abs(rows - curve[None, :]) / ((1.5 + 4 * depth) * px))
        mid.paint(d.mix(pal.light, (1, 1, 1), 0.5), np.clip(foam * (0.5 + 0.4 * inten), 0, 1))
    wet = (hz + (1 - hz) * 0.78) * h + 0.02 * h * d.noise_1d(rng, w, scale=3)
    sand = d.fill_below(h, w, wet)
    grad = d.vgrad(h, w, [(0.0, sand_col), (1.0, d.mix(sand_col, pal.shadow, 0.5))])
    mid.paint(grad, sand)
    glint = np.exp(-(((xs - sx) / 0.08) ** 2))[None, :] * np.clip(rows - hz * h, 0, 1) * (1 - sand)
    mid.paint(
        pal.light,
        (glint * d.fractal_noise(rng, h, w, scale=3.0, octaves=3, stretch=(4.0, 0.3)) * 0.6).astype(
            F32
        ),
    )
    fg = Layer(h, w)
    _particles(ctx, fg, int(20 + 40 * inten), pal.light, (0.6, 1.5), (hz, 0.8), glow_px=4)
    return Layers(bg, mid, fg)


def pier(ctx: Ctx) -> Layers:
    """A wooden pier running out to the horizon, posts and lamps shrinking with distance."""
    h, w, rng, pal, inten, px = ctx.h, ctx.w, ctx.rng, ctx.pal, ctx.intensity, ctx.px
    hz = ctx.horizon
    vx, vy = ctx.focal[0] * w, hz * h
    bg = _sky(ctx)
    bg = d.add_light(
        bg, pal.accent, np.exp(-d.radial(h, w, ctx.focal[0], hz - 0.05, work=4) / 0.18) * 0.8
    )
    mid = Layer(h, w)
    rows = np.arange(h, dtype=F32)[:, None]
    sea = d.vgrad(
        h, w, [(0.0, pal.deep), (hz, d.mix(pal.accent, pal.shadow, 0.45)), (1.0, pal.deep)]
    )
    ripple = d.fractal_noise(rng, h, w, scale=2.0, octaves=5, stretch=(5.0, 0.3), work=2)
    sea = sea * (0.8 + 0.4 * ripple[..., None])
    mid.paint(sea, np.clip(rows - vy, 0, 1) * np.ones((1, w), F32))
    half_near = 0.28 * w
    deck = np.array(
        [[vx - half_near, h], [vx + half_near, h], [vx + 2 * px, vy], [vx - 2 * px, vy]]
    )
    wood = d.mix(pal.shadow, pal.deep, 0.3)
    mid.paint(wood, d.aa_poly_mask(h, w, [deck]))
    boards = _perspective_strips(
        h, w, vx, vy, vx + np.linspace(-half_near, half_near, 9), h, max(1, int(px))
    )
    mid.paint(pal.deep, boards * 0.7)
    t = 0.8 ** np.arange(10)
    posts, lamps_x, lamps_y, lamps_r = [], [], [], []
    for side in (-1, 1):
        for tk in t:
            x = vx + side * half_near * tk * 1.02
            y_base = vy + (h - vy) * tk
            top = y_base - 0.25 * h * tk
            posts.append((x, y_base, x, top))
            lamps_x.append(x)
            lamps_y.append(top)
            lamps_r.append(max(1.0, 6 * px * tk))
    post_w = np.array([max(1, int(6 * px * tk)) for tk in list(t) * 2], np.int32)
    mid.paint(pal.deep, d.lines(h, w, np.array(posts, F32), np.ones(len(posts), F32), post_w))
    lamps = d.dots(
        h, w, np.array(lamps_x), np.array(lamps_y), np.array(lamps_r), np.ones(len(lamps_x))
    )
    fg = Layer(h, w)
    fg.paint(pal.light, np.clip(lamps + d.glow(lamps, 10 * px) * 2.5, 0, 1))
    _particles(ctx, fg, int(10 + 30 * inten), pal.accent, (0.6, 1.4), (hz, 1.0), glow_px=4)
    return Layers(bg, mid, fg)


def glints(ctx: Ctx) -> Layers:
    """Close on the water's surface: ripples and sun glints, nothing else (an insert)."""
    h, w, rng, pal, inten = ctx.h, ctx.w, ctx.rng, ctx.pal, ctx.intensity
    n = d.fractal_noise(rng, h, w, scale=2.5, octaves=5, stretch=(3.0, 0.4), work=2)
    ripple = 0.5 + 0.5 * np.sin(n * 40)
    bg = pal.ramp(
        np.clip(0.15 + 0.55 * ripple * n, 0, 1), (pal.deep, pal.shadow, pal.mid, pal.accent)
    )
    mid, fg = Layer(h, w), Layer(h, w)
    hot = d.smoothstep(0.8, 1.0, ripple) * d.smoothstep(0.45, 0.8, n)
    mid.paint(pal.light, hot.astype(F32))
    _sparkles(ctx, fg, int(12 + 30 * inten), pal.light)
    return Layers(bg, mid, fg)


# --------------------------------------------------------------------------- forest


def _pine(cx: float, base: float, th: float) -> list[np.ndarray]:
    tw = th * 0.35
    polys = []
    for k in range(4):
        ty = base - th * (k / 4) * 0.9
        half = tw * 0.5 * (1 - k / 4.5)
        polys.append(np.array([[cx - half, ty], [cx + half, ty], [cx, ty - th * 0.38]]))
    polys.append(
        np.array(
            [
                [cx - tw * 0.05, base],
                [cx + tw * 0.05, base],
                [cx + tw * 0.05, base + th * 0.1],
                [cx - tw * 0.05, base + th * 0.1],
            ]
        )
    )
    return polys


def path(ctx: Ctx) -> Layers:
    """A path into the woods: trees on both sides growing toward the camera, light at the end."""
    h, w, rng, pal, inten, px = ctx.h, ctx.w, ctx.rng, ctx.pal, ctx.intensity, ctx.px
    hz = ctx.horizon
    vx, vy = ctx.focal[0] * w, hz * h
    fog = d.mix(pal.light, pal.mid, 0.35)
    bg = d.vgrad(
        h,
        w,
        [(0.0, d.mix(pal.shadow, pal.mid, 0.4)), (hz, fog), (1.0, d.mix(fog, pal.shadow, 0.6))],
    )
    bg = d.add_light(
        bg, pal.light, np.exp(-d.radial(h, w, ctx.focal[0], hz - 0.05, work=4) / 0.15) * 0.8
    )
    mid = Layer(h, w)
    ground = d.mix(pal.shadow, pal.deep, 0.3)
    rows = np.arange(h, dtype=F32)[:, None]
    mid.paint(ground, np.clip(rows - vy, 0, 1) * np.ones((1, w), F32))
    trail = np.array([[vx - 0.35 * w, h], [vx + 0.35 * w, h], [vx + 3 * px, vy], [vx - 3 * px, vy]])
    mid.paint(d.mix(fog, ground, 0.55), d.aa_poly_mask(h, w, [trail]))
    for k in range(9, -1, -1):
        t = 0.78**k
        col = d.mix(fog, pal.deep, min(1.0, 0.25 + 0.9 * t))
        polys = []
        for side in (-1, 1):
            x = vx + side * (0.06 * w + 0.7 * w * t) * (0.8 + 0.4 * rng.random())
            base = vy + (h - vy) * t * 0.9
            polys += _pine(x, base, (0.15 + 1.1 * t) * h)
        mid.paint(col, d.aa_poly_mask(h, w, polys))
    fg = Layer(h, w)
    _particles(ctx, fg, int(20 + 60 * inten), pal.accent, (1.0, 2.5), (hz - 0.2, 0.95), glow_px=8)
    return Layers(bg, mid, fg)


def canopy(ctx: Ctx) -> Layers:
    """Looking straight up: trunks converge to a bright patch of sky through the leaves."""
    h, w, rng, pal, inten, px = ctx.h, ctx.w, ctx.rng, ctx.pal, ctx.intensity, ctx.px
    fx, fy = ctx.focal[0], 0.45
    bg = d.vgrad(
        h, w, [(0.0, d.mix(pal.light, pal.mid, 0.3)), (1.0, d.mix(pal.mid, pal.shadow, 0.4))]
    )
    bg = d.add_light(bg, pal.light, np.exp(-d.radial(h, w, fx, fy, work=4) / 0.25) * 0.8)
    mid, fg = Layer(h, w), Layer(h, w)
    leaves = d.fractal_noise(rng, h, w, scale=5.0, octaves=5, persistence=0.6)
    dist = d.radial(h, w, fx, fy, work=4)
    cover = d.smoothstep(0.45, 0.6, leaves + 0.5 * dist - 0.15)
    mid.paint(d.mix(pal.shadow, pal.accent, 0.25), cover.astype(F32))
    polys = []
    cx, cy = fx * w, fy * h
    for k in range(11):
        a = 2 * math.pi * (k + rng.random() * 0.6) / 11
        far = np.array([cx + math.cos(a) * 0.06 * h, cy + math.sin(a) * 0.06 * h])
        near = np.array([cx + math.cos(a) * 1.2 * w, cy + math.sin(a) * 1.2 * w])
        nrm = np.array([-math.sin(a), math.cos(a)])
        polys.append(
            np.array(
                [
                    far - nrm * 2 * px,
                    far + nrm * 2 * px,
                    near + nrm * 0.028 * w,
                    near - nrm * 0.028 * w,
                ]
            )
        )
    fg.paint(d.mix(pal.deep, (0, 0, 0), 0.3), d.aa_poly_mask(h, w, polys))
    _sparkles(ctx, fg, int(6 + 12 * inten), pal.light, (0.2, 0.7))
    return Layers(bg, mid, fg)


def leaves(ctx: Ctx) -> Layers:
    """Leaves and a branch close up in front of soft out-of-focus light (an insert)."""
    h, w, rng, pal, inten, px = ctx.h, ctx.w, ctx.rng, ctx.pal, ctx.intensity, ctx.px
    bg = d.vgrad(h, w, [(0.0, d.mix(pal.mid, pal.light, 0.3)), (1.0, pal.shadow)])
    n = 14
    bokeh = _bokeh(ctx, n, 25, 50)
    bg = d.add_light(bg, pal.light, d.glow(bokeh, 4 * px) * 0.6)
    mid, fg = Layer(h, w), Layer(h, w)
    y0 = (0.3 + 0.4 * rng.random()) * h
    t = np.linspace(0, 1, 40)
    xs = t * w * 1.1 - 0.05 * w
    ys = y0 + 0.15 * h * np.sin(t * 3 + rng.random() * 6)
    branch = d.lines(
        h,
        w,
        np.stack([xs[:-1], ys[:-1], xs[1:], ys[1:]], 1).astype(F32),
        np.ones(39, F32),
        max(2, int(16 * px)),
    )
    polys: list[np.ndarray] = []
    lit: list[np.ndarray] = []
    for i in range(2, 39, 4):
        for side in (-1, 1):
            ang = side * (0.6 + 0.5 * rng.random()) + rng.normal(0, 0.2)
            ln = (150 + 110 * rng.random()) * px
            bx, by = xs[i], ys[i]
            tip = np.array([bx + math.sin(ang) * ln * 0.5, by - side * math.cos(ang) * ln])
            mid_pt = (np.array([bx, by]) + tip) / 2
            nrm = np.array([-(tip - [bx, by])[1], (tip - [bx, by])[0]]) / max(ln, 1)
            leaf = np.array([[bx, by], mid_pt + nrm * ln * 0.22, tip, mid_pt - nrm * ln * 0.22])
            (lit if side * ctx.light_side > 0 else polys).append(leaf)
    mid.paint(d.mix(pal.deep, pal.shadow, 0.4), np.maximum(d.aa_poly_mask(h, w, polys), branch))
    mid.paint(d.mix(pal.accent, pal.mid, 0.4), d.aa_poly_mask(h, w, lit))
    _particles(ctx, fg, int(15 + 40 * inten), pal.light, (1.0, 2.5), glow_px=6)
    return Layers(bg, mid, fg)


# --------------------------------------------------------------------------- fire


def campfire(ctx: Ctx) -> Layers:
    """A small fire in a dark landscape: sparks rising, the ground lit around it."""
    h, w, rng, pal, inten, px = ctx.h, ctx.w, ctx.rng, ctx.pal, ctx.intensity, ctx.px
    hz = ctx.horizon
    bg = d.vgrad(h, w, [(0.0, pal.deep), (hz, d.mix(pal.deep, pal.shadow, 0.7)), (1.0, pal.deep)])
    _stars(ctx, bg, int(w * h / 1500), pal.light)
    mid, fg = Layer(h, w), Layer(h, w)
    ridge = hz * h - (0.04 + 0.06 * (0.5 + 0.5 * d.noise_1d(rng, w, scale=3))) * h
    mid.paint(d.mix(pal.deep, pal.shadow, 0.3), d.fill_below(h, w, ridge))
    cx, cy = ctx.focal[0] * w, (hz + 0.22) * h
    ground = np.exp(-d.radial(h, w, cx / w, cy / h, work=4) / 0.18)
    mid.paint(pal.accent, (ground * d.fill_below(h, w, ridge) * 0.5).astype(F32))
    fh, fw = 0.22 * h, 0.09 * w
    hh, ww = int(fh * 1.4), int(fw * 2)
    y0, x0 = int(cy - fh * 1.3), int(cx - fw)
    ys = np.linspace(1, 0, hh, dtype=F32)[:, None]
    xs = np.linspace(-1, 1, ww, dtype=F32)[None, :]
    nz = d.fractal_noise(rng, hh, ww, scale=3.0, octaves=4, work=1)
    shape = np.clip(1 - np.abs(xs) / (0.25 + 0.7 * (1 - ys) ** 1.5 + 0.2 * (nz - 0.5)), 0, 1) * (
        ys < 0.95
    )
    flame = np.clip(shape * (1.2 - ys) * 1.6, 0, 1) * d.smoothstep(0.25, 0.9, nz + (1 - ys) * 0.6)
    col = pal.ramp(
        flame, (d.mix(pal.shadow, pal.accent, 0.6), pal.accent, pal.light, (1.0, 0.97, 0.86))
    )
    ya, yb, xa, xb = max(0, y0), min(h, y0 + hh), max(0, x0), min(w, x0 + ww)
    if yb > ya and xb > xa:
        sub = (slice(ya - y0, yb - y0), slice(xa - x0, xb - x0))
        mid.paint_region(ya, yb, xa, xb, col[sub], d.smoothstep(0.0, 0.25, flame[sub]))
    logs = np.array(
        [
            (cx - fw, cy + 0.01 * h, cx + fw, cy - 0.01 * h),
            (cx - fw, cy - 0.01 * h, cx + fw, cy + 0.015 * h),
        ],
        F32,
    )
    mid.paint(pal.deep, d.lines(h, w, logs, np.ones(2, F32), max(2, int(10 * px))))
    bg = d.add_light(
        bg, pal.accent, np.exp(-d.radial(h, w, cx / w, (cy - 0.1 * h) / h, work=4) / 0.3) * 0.5
    )
    n = int(60 + 160 * inten)
    ex = cx + rng.normal(0, 0.06, n) * w
    ey = cy - rng.random(n) ** 0.8 * 0.7 * h
    ln = (3 + rng.random(n) * 10) * px
    segs = np.stack([ex, ey, ex + rng.normal(0, 0.3, n) * ln, ey - ln], 1).astype(F32)
    sparks = d.lines(h, w, segs, (rng.random(n) * 0.7 + 0.3).astype(F32), max(1, int(1.5 * px)))
    fg.paint(pal.light, np.clip(sparks + d.glow(sparks, 4 * px) * 2, 0, 1))
    return Layers(bg, mid, fg)


def embers(ctx: Ctx) -> Layers:
    """Glowing coals close up: cracked dark crust over orange heat (an insert)."""
    h, w, rng, pal, inten, px = ctx.h, ctx.w, ctx.rng, ctx.pal, ctx.intensity, ctx.px
    cells = d.fractal_noise(rng, h, w, scale=4.0, octaves=5, persistence=0.5, work=2)
    cracks = np.abs(np.sin(cells * 24.0))
    heat = d.smoothstep(0.75, 0.0, cracks) * (
        0.5 + 0.6 * d.fractal_noise(rng, h, w, scale=1.5, octaves=3)
    )
    hot = (1.0, 0.95, 0.8)
    bg = pal.ramp(
        np.clip(heat, 0, 1).astype(F32),
        (pal.deep, d.mix(pal.shadow, pal.accent, 0.6), pal.accent, hot),
    )
    mid, fg = Layer(h, w), Layer(h, w)
    mid.paint(pal.accent, (d.glow(heat.astype(F32), 8 * px) * 0.35).astype(F32))
    _particles(ctx, fg, int(30 + 80 * inten), pal.light, (0.8, 2.0), glow_px=6)
    return Layers(bg, mid, fg)


# --------------------------------------------------------------------------- aurora


def zenith(ctx: Ctx) -> Layers:
    """Looking straight up into the aurora's corona: rays fanning out from one point."""
    h, w, rng, pal, inten = ctx.h, ctx.w, ctx.rng, ctx.pal, ctx.intensity
    fx, fy = ctx.focal
    bg = d.vgrad(h, w, [(0.0, pal.deep), (1.0, d.mix(pal.deep, pal.shadow, 0.5))])
    _stars(ctx, bg, int(w * h / 800), pal.light)
    hh, ww = max(8, h // 3), max(8, w // 3)
    xs, ys = d.coords(hh, ww)
    ang = np.arctan2(ys - fy, xs - fx * ww / hh)
    dist = np.sqrt((xs - fx * ww / hh) ** 2 + (ys - fy) ** 2)
    rays = d.noise_1d(rng, 720, scale=30, octaves=3)
    idx = ((ang + math.pi) / (2 * math.pi) * 719).astype(np.int32)
    curtain = (
        d.smoothstep(0.0, 0.8, rays[idx] * 0.5 + 0.5)
        * np.exp(-dist / (0.5 + 0.3 * inten))
        * d.smoothstep(0.03, 0.2, dist)
    )
    col = pal.ramp(np.clip(1 - dist, 0, 1).astype(F32), (pal.deep, pal.accent, pal.mid, pal.light))
    light = col * curtain[..., None] * (0.9 + 0.6 * inten)
    bg += d.resize(light.astype(F32), w, h)
    mid, fg = Layer(h, w), Layer(h, w)
    # Tree tops around the frame's edge, seen from below.
    polys = []
    for k in range(14):
        a = 2 * math.pi * k / 14 + rng.random() * 0.3
        r_in = (0.55 + 0.15 * rng.random()) * w
        c = np.array([fx * w + math.cos(a) * r_in * 1.3, fy * h + math.sin(a) * r_in])
        tip = np.array([fx * w + math.cos(a) * r_in * 0.75, fy * h + math.sin(a) * r_in * 0.6])
        nrm = np.array([-math.sin(a), math.cos(a)]) * 0.06 * w
        polys.append(np.array([c + nrm, tip, c - nrm]))
    mid.paint(pal.deep, d.aa_poly_mask(h, w, polys))
    _sparkles(ctx, fg, int(5 + 10 * inten), pal.light)
    return Layers(bg, mid, fg)


def snowfield(ctx: Ctx) -> Layers:
    """A flat snowfield under the aurora: lone trees, long blue shadows, a distant ridge."""
    h, w, rng, pal, inten = ctx.h, ctx.w, ctx.rng, ctx.pal, ctx.intensity
    hz = ctx.horizon
    bg = d.vgrad(h, w, [(0.0, pal.deep), (hz, d.mix(pal.shadow, pal.mid, 0.3)), (1.0, pal.deep)])
    _stars(ctx, bg, int(w * h / 1000), pal.light)
    hh, ww = h // 3, w // 3
    ysn = np.linspace(0, 1, hh, dtype=F32)[:, None]
    band = d.noise_1d(rng, ww, scale=2.0)[None, :] * 0.08 + hz * 0.45
    v = np.exp(-np.abs(ysn - band) / np.where(ysn < band, 0.14, 0.02))
    rays = d.fractal_noise(rng, hh, ww, scale=3.0, octaves=4, stretch=(0.15, 3.0), work=1)
    aur = v * (0.4 + 0.8 * rays) * (0.6 + 0.5 * inten)
    bg += d.resize((aur[..., None] * np.asarray(pal.accent, F32)).astype(F32), w, h)
    mid, fg = Layer(h, w), Layer(h, w)
    ridge = hz * h - 0.03 * h * (1 + d.noise_1d(rng, w, scale=4))
    mid.paint(d.mix(pal.shadow, pal.deep, 0.5), d.fill_below(h, w, ridge))
    snow = d.vgrad(
        h,
        w,
        [
            (0.0, pal.light),
            (hz, d.mix(pal.light, pal.mid, 0.45)),
            (1.0, d.mix(pal.light, pal.shadow, 0.35)),
        ],
    )
    mid.paint(snow, d.fill_below(h, w, np.full(w, hz * h + 0.01 * h, F32)))
    polys = []
    for _ in range(6):
        x = rng.random() * w
        base = (hz + 0.02 + rng.random() ** 2 * (1 - hz) * 0.6) * h
        th = (0.05 + 0.25 * (base / h - hz)) * h
        polys += _pine(x, base, th)
    mid.paint(pal.deep, d.aa_poly_mask(h, w, polys))
    _particles(ctx, fg, int(40 + 80 * inten), (0.97, 0.98, 1.0), (1.0, 2.5), glow_px=3, soft=True)
    return Layers(bg, mid, fg)


# --------------------------------------------------------------------------- geometric


def tunnel(ctx: Ctx) -> Layers:
    """Nested frames receding to a vanishing point: a neon tunnel."""
    h, w, rng, pal, inten, px = ctx.h, ctx.w, ctx.rng, ctx.pal, ctx.intensity, ctx.px
    cx, cy = ctx.focal[0] * w, ctx.focal[1] * h
    bg = _focal_glow(ctx, d.vgrad(h, w, [(0.0, pal.deep), (1.0, pal.deep)]), pal.accent, 0.12, 0.9)
    mid, fg = Layer(h, w), Layer(h, w)
    sides = (4, 6, 3, 8)[ctx.variant % 4]
    rot = rng.random() * math.pi
    segs, vals, spokes = [], [], []
    for k in range(18):
        s = 0.85**k * 0.95 * w
        a0 = rot + k * 0.06 * (1 if rng.random() < 0.5 else -1)
        pts = [
            (
                cx + s * math.cos(a0 + 2 * math.pi * j / sides),
                cy + s * math.sin(a0 + 2 * math.pi * j / sides) * 0.7,
            )
            for j in range(sides)
        ]
        for j in range(sides):
            segs.append((*pts[j], *pts[(j + 1) % sides]))
            vals.append(0.3 + 0.7 * (1 - k / 18))
        if k == 0:
            spokes = [(p[0], p[1], cx, cy) for p in pts]
    outline = d.lines(h, w, np.array(segs, F32), np.array(vals, F32), max(1, int(3 * px)))
    mid.paint(pal.accent, np.clip(outline + d.glow(outline, 8 * px) * 2, 0, 1))
    sp = d.lines(h, w, np.array(spokes, F32), np.full(len(spokes), 0.6, F32), max(1, int(2 * px)))
    mid.paint(pal.mid, np.clip(sp + d.glow(sp, 5 * px), 0, 1))
    _particles(ctx, fg, int(30 + 60 * inten), pal.light, (0.8, 2.0), glow_px=5)
    return Layers(bg, mid, fg)


def grid(ctx: Ctx) -> Layers:
    """An infinite grid floor and ceiling meeting at the horizon, floating shapes between."""
    h, w, rng, pal, inten, px = ctx.h, ctx.w, ctx.rng, ctx.pal, ctx.intensity, ctx.px
    hz = ctx.horizon
    vx, vy = ctx.focal[0] * w, hz * h
    bg = d.vgrad(h, w, [(0.0, pal.deep), (hz, d.mix(pal.shadow, pal.accent, 0.5)), (1.0, pal.deep)])
    mid, fg = Layer(h, w), Layer(h, w)
    segs = []
    for flip in (1, -1):
        for k in range(-16, 17):
            segs.append((vx + k * 0.015 * w, vy, vx + k * 0.25 * w, vy + flip * h * 1.05))
        for j in range(1, 12):
            yy = vy + flip * (h * 0.55) * (j / 11) ** 2.2
            segs.append((0, yy, w, yy))
    g = d.lines(h, w, np.array(segs, F32), np.ones(len(segs), F32), max(1, int(1.5 * px)))
    rows = np.arange(h, dtype=F32)[:, None]
    fade = d.smoothstep(0.0, 0.3, np.abs(rows - vy) / h)
    mid.paint(pal.accent, np.clip((g + d.glow(g, 5 * px) * 1.5) * fade, 0, 1).astype(F32))
    polys = []
    for _ in range(5 + int(5 * inten)):
        cx, cy, s = rng.random() * w, (0.2 + 0.6 * rng.random()) * h, (10 + 40 * rng.random()) * px
        a0 = rng.random() * math.pi
        polys.append(
            np.array(
                [
                    (
                        cx + s * math.cos(a0 + j * math.pi / 2),
                        cy + s * math.sin(a0 + j * math.pi / 2),
                    )
                    for j in range(4)
                ]
            )
        )
    shp = d.aa_poly_mask(h, w, polys)
    fg.paint(d.mix(pal.light, pal.mid, 0.3), np.clip(shp * 0.7 + d.glow(shp, 8 * px), 0, 1))
    return Layers(bg, mid, fg)


# --------------------------------------------------------------------------- desert


def road(ctx: Ctx) -> Layers:
    """An empty road to the horizon through the desert, centre line dashes, mesas far off."""
    h, w, rng, pal, inten, px = ctx.h, ctx.w, ctx.rng, ctx.pal, ctx.intensity, ctx.px
    hz = ctx.horizon
    vx, vy = ctx.focal[0] * w, hz * h
    bg = d.vgrad(
        h,
        w,
        [
            (0.0, d.mix(pal.shadow, pal.mid, 0.4)),
            (hz, d.mix(pal.light, pal.accent, 0.4)),
            (1.0, pal.light),
        ],
    )
    bg = d.add_light(
        bg, pal.light, np.exp(-d.radial(h, w, ctx.focal[0], hz - 0.06, work=4) / 0.12) * 0.7
    )
    mid, fg = Layer(h, w), Layer(h, w)
    xs = np.linspace(0, 1, w, dtype=F32)
    mesas = vy - (0.02 + 0.1 * d.smoothstep(0.3, 0.5, 0.5 + 0.5 * d.noise_1d(rng, w, scale=3))) * h
    mid.paint(d.mix(pal.mid, pal.shadow, 0.5), d.fill_below(h, w, mesas))
    sand = d.vgrad(
        h,
        w,
        [
            (0.0, pal.mid),
            (hz, d.mix(pal.accent, pal.light, 0.4)),
            (1.0, d.mix(pal.accent, pal.shadow, 0.4)),
        ],
    )
    mid.paint(sand, d.fill_below(h, w, np.full(w, vy, F32)))
    road_poly = np.array(
        [[vx - 0.45 * w, h], [vx + 0.45 * w, h], [vx + 2 * px, vy], [vx - 2 * px, vy]]
    )
    mid.paint(d.mix(pal.deep, pal.shadow, 0.5), d.aa_poly_mask(h, w, [road_poly]))
    dashes = []
    for k in range(12):
        t0, t1 = 0.75 ** (k + 0.5), 0.75 ** (k + 0.5) * 0.8
        dashes.append(
            np.array(
                [
                    [vx - 6 * px * t0, vy + (h - vy) * t0],
                    [vx + 6 * px * t0, vy + (h - vy) * t0],
                    [vx + 6 * px * t1, vy + (h - vy) * t1],
                    [vx - 6 * px * t1, vy + (h - vy) * t1],
                ]
            )
        )
    mid.paint(pal.light, d.aa_poly_mask(h, w, dashes) * 0.9)
    del xs
    n = int(40 + 120 * inten)
    ex, ey = rng.random(n) * w, (hz + rng.random(n) * (1 - hz)) * h
    ln = (6 + rng.random(n) * 30) * px
    segs = np.stack([ex, ey, ex - ln * ctx.light_side, ey - ln * 0.08], 1).astype(F32)
    fg.paint(pal.light, d.lines(h, w, segs, (rng.random(n) * 0.4 + 0.1).astype(F32), 1) * 0.8)
    return Layers(bg, mid, fg)


def canyon(ctx: Ctx) -> Layers:
    """Inside a canyon: layered rock walls on both sides, a strip of sky, a lit far wall."""
    h, w, rng, pal, inten, px = ctx.h, ctx.w, ctx.rng, ctx.pal, ctx.intensity, ctx.px
    hz = ctx.horizon
    bg = d.vgrad(
        h,
        w,
        [
            (0.0, d.mix(pal.mid, pal.light, 0.3)),
            (hz, d.mix(pal.light, pal.accent, 0.4)),
            (1.0, pal.shadow),
        ],
    )
    mid, fg = Layer(h, w), Layer(h, w)
    rows = np.arange(h, dtype=F32)[:, None]
    strata = 0.5 + 0.5 * np.sin(
        rows / (9 * px) + 2 * d.fractal_noise(rng, h, w, scale=2.0, octaves=3, stretch=(0.3, 3.0))
    )
    for depth, col_t in ((0.35, 0.3), (0.65, 0.6), (1.0, 0.95)):
        edge = []
        for side in (-1, 1):
            gap = (0.06 + 0.3 * depth**1.5) * w
            e = ctx.focal[0] * w + side * gap + side * 0.05 * w * d.noise_1d(rng, h, scale=3)
            edge.append(e)
        cols = np.arange(w, dtype=F32)[None, :]
        wall = np.clip(np.maximum(edge[0][:, None] - cols, cols - edge[1][:, None]), 0, 1)
        wall *= d.smoothstep(0.0, 0.05, rows / h + 0.0)
        base = d.mix(d.mix(pal.accent, pal.light, 0.3), pal.shadow, col_t)
        shade = np.asarray(base, F32) * (0.8 + 0.35 * strata[..., None])
        mid.paint(shade.astype(F32), wall.astype(F32))
    floor = np.clip(rows - (hz + 0.1) * h, 0, 1) * np.ones((1, w), F32)
    mid.paint(d.mix(pal.accent, pal.shadow, 0.6), floor)
    _particles(
        ctx, fg, int(60 + 120 * inten), d.mix(pal.light, pal.accent, 0.3), (0.5, 1.4), glow_px=3
    )
    return Layers(bg, mid, fg)


# --------------------------------------------------------------------------- underwater


def surface(ctx: Ctx) -> Layers:
    """Looking up at the surface from below: a bright window of sky, rays, rising bubbles."""
    h, w, rng, pal, inten, px = ctx.h, ctx.w, ctx.rng, ctx.pal, ctx.intensity, ctx.px
    fx = ctx.focal[0]
    bg = d.vgrad(h, w, [(0.0, d.mix(pal.light, pal.mid, 0.3)), (0.45, pal.mid), (1.0, pal.deep)])
    cau = d.fractal_noise(rng, h, w, scale=3.0, octaves=4, work=2)
    net = (1 - np.abs(np.sin(cau * 18))) ** 8
    ysn = (np.arange(h, dtype=F32) / h)[:, None]
    bg = d.add_light(bg, pal.light, (net * np.exp(-ysn / 0.35) * 0.7).astype(F32))
    win = np.exp(-d.radial(h, w, fx, -0.1, work=4) / 0.35)
    bg = d.add_light(bg, pal.light, win * 0.8)
    hh, ww = max(8, h // 4), max(8, w // 4)
    xs, ys = d.coords(hh, ww)
    ang = np.arctan2(ys + 0.2, xs - fx * ww / hh)
    shafts = d.noise_1d(rng, 512, scale=20, octaves=3)
    idx = np.clip(((ang / math.pi) * 511).astype(np.int32), 0, 511)
    rays = d.smoothstep(0.1, 0.8, shafts[idx] * 0.5 + 0.5) * np.exp(-ys / 0.7)
    bg = d.add_light(bg, pal.light, d.resize(rays.astype(F32), w, h) * 0.35)
    mid, fg = Layer(h, w), Layer(h, w)
    n = int(40 + 80 * inten)
    bx, by = (fx + rng.normal(0, 0.2, n)) * w, rng.random(n) * h
    br = (2 + rng.random(n) ** 2 * 12) * px
    ring = np.zeros((h, w), np.uint8)
    for x, y, r in zip(bx, by, br, strict=True):
        cv2.circle(
            ring,
            (int(x * 16), int(y * 16)),
            int(r * 16),
            220,
            max(1, int(1.5 * px)),
            cv2.LINE_AA,
            4,
        )
    ring_f = ring.astype(F32) / 255.0
    fg.paint(pal.light, np.clip(ring_f + d.glow(ring_f, 3 * px), 0, 1))
    return Layers(bg, mid, fg)


def abyss(ctx: Ctx) -> Layers:
    """The deep: near darkness, glowing jellyfish drifting, motes of bioluminescence."""
    h, w, rng, pal, inten, px = ctx.h, ctx.w, ctx.rng, ctx.pal, ctx.intensity, ctx.px
    bg = d.vgrad(h, w, [(0.0, d.mix(pal.deep, pal.shadow, 0.5)), (1.0, pal.deep)])
    mid, fg = Layer(h, w), Layer(h, w)
    for _ in range(3 + int(3 * inten)):
        cx, cy = rng.random() * w, (0.15 + 0.6 * rng.random()) * h
        r = (25 + 60 * rng.random()) * px
        dist = d.radial(h, w, cx / w, cy / h, work=2) * h
        rows = np.arange(h, dtype=F32)[:, None]
        bell = np.clip((r - dist) / (2 * px), 0, 1) * (rows < cy + r * 0.15)
        mid.paint(d.mix(pal.accent, pal.light, 0.3), (bell * 0.55).astype(F32))
        mid.paint(
            pal.accent,
            (np.exp(-np.abs(dist - r) / (3 * px)) * (rows < cy + r * 0.15) * 0.8).astype(F32),
        )
        t = np.linspace(0, 1, 20)
        segs = []
        for k in range(7):
            x0 = cx + (k / 6 - 0.5) * 1.4 * r
            xs = x0 + 8 * px * np.sin(t * 6 + rng.random() * 6)
            ys = cy + r * 0.15 + t * r * (2 + rng.random())
            segs += [(xs[i], ys[i], xs[i + 1], ys[i + 1]) for i in range(19)]
        tent = d.lines(
            h, w, np.array(segs, F32), np.full(len(segs), 0.7, F32), max(1, int(1.5 * px))
        )
        mid.paint(pal.accent, np.clip(tent + d.glow(tent, 4 * px), 0, 1))
        bg = d.add_light(bg, pal.accent, np.exp(-dist / (2.5 * r)) * 0.25)
    _particles(
        ctx, fg, int(60 + 100 * inten), d.mix(pal.light, pal.accent, 0.4), (0.6, 1.6), glow_px=5
    )
    return Layers(bg, mid, fg)
