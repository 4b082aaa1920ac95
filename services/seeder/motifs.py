"""Motif families: each draws a background field, mid-ground forms and foreground light.

Every family returns `Layers(bg, mid, fg)`: bg is an opaque HxWx3 image, mid and fg are
premultiplied RGBA `Layer`s, so the animator can move them at different speeds (parallax).
Composition (horizon, focal point), density and glow come from the `Ctx` that the scene
builds from the key moment's role and intensity; colours only come from the palette.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from services.seeder import drawing as d
from services.seeder.drawing import F32, Layer
from services.seeder.palette import RGB, Palette


@dataclass
class Ctx:
    h: int
    w: int
    rng: np.random.Generator
    pal: Palette
    intensity: float  # 0 calm .. 1 intense (moment intensity mixed with mood energy)
    horizon: float  # fraction of height
    focal: tuple[float, float]  # fractions of width, height
    light_side: float  # -1 light from the left, +1 from the right (shared per video)
    effects: list[str] = field(default_factory=list)
    variant: int = 0  # per-moment variation of the family's layout
    tags: frozenset[str] = frozenset()  # vocabulary terms the prompts matched

    @property
    def density(self) -> float:
        return 0.35 + 1.3 * self.intensity

    @property
    def px(self) -> float:
        """One 'design unit' in pixels: 1/720 of the short side."""
        return min(self.h, self.w) / 720.0


@dataclass
class Layers:
    bg: np.ndarray
    mid: Layer
    fg: Layer


def _stars(ctx: Ctx, img: np.ndarray, count: int, color: RGB) -> np.ndarray:
    h, w, rng = ctx.h, ctx.w, ctx.rng
    ys = rng.integers(0, h, count)
    xs = rng.integers(0, w, count)
    b = (rng.random(count, dtype=F32) ** 3) * 0.9 + 0.1
    img[ys, xs] += b[:, None] * np.asarray(color, F32)
    return img


def _sparkles(ctx: Ctx, layer: Layer, n: int, color: RGB, region: tuple[float, float] = (0, 1)):
    """Four-point glints: a dot plus thin cross flares, with a soft halo."""
    h, w, rng, px = ctx.h, ctx.w, ctx.rng, ctx.px
    if n <= 0:
        return
    xs = rng.random(n) * w
    ys = (region[0] + rng.random(n) * (region[1] - region[0])) * h
    size = (2 + rng.random(n) ** 3 * 14) * px
    segs = np.concatenate(
        [
            np.stack([xs - size * 2, ys, xs + size * 2, ys], 1),
            np.stack([xs, ys - size * 2, xs, ys + size * 2], 1),
        ]
    )
    vals = np.concatenate([rng.random(n) * 0.6 + 0.4] * 2)
    flare = d.lines(h, w, segs, vals, 1)
    core = d.dots(h, w, xs, ys, size * 0.35, vals[:n])
    halo = d.glow(core, 6 * px) * 2.5
    layer.paint(color, np.clip(flare * 0.8 + core + halo, 0, 1))


def _particles(
    ctx: Ctx,
    layer: Layer,
    n: int,
    color: RGB,
    size: tuple[float, float],
    y_range: tuple[float, float] = (0.0, 1.0),
    glow_px: float = 8.0,
    soft: bool = False,
) -> None:
    h, w, rng, px = ctx.h, ctx.w, ctx.rng, ctx.px
    if n <= 0:
        return
    xs = rng.random(n) * w
    ys = (y_range[0] + rng.random(n) * (y_range[1] - y_range[0])) * h
    radii = (size[0] + rng.random(n) ** 2 * (size[1] - size[0])) * px
    vals = 0.35 + 0.65 * rng.random(n)
    core = d.dots(h, w, xs, ys, radii, vals)
    if soft:
        core = d.glow(core, max(1.0, float(np.mean(radii)) * 0.5))
    alpha = np.clip(core + d.glow(core, glow_px * px) * 1.8, 0, 1)
    layer.paint(color, alpha)


def _bokeh(ctx: Ctx, n: int, radius: float, spread: float) -> np.ndarray:
    """Mask of n out-of-focus discs anywhere in the frame, radius + [0, spread) px each."""
    h, w, rng = ctx.h, ctx.w, ctx.rng
    xs, ys = rng.random(n) * w, rng.random(n) * h
    radii = (radius + rng.random(n) * spread) * ctx.px
    return d.dots(h, w, xs, ys, radii, rng.random(n) * 0.5 + 0.3)


def _focal_glow(ctx: Ctx, bg: np.ndarray, color: RGB, falloff: float, gain: float) -> np.ndarray:
    """`bg` lit around the focal point by exp(-distance / falloff) * gain."""
    dist = d.radial(ctx.h, ctx.w, ctx.focal[0], ctx.focal[1], work=8)
    return d.add_light(bg, color, np.exp(-dist / falloff) * gain)


# --------------------------------------------------------------------------- families


def space(ctx: Ctx) -> Layers:
    h, w, rng, pal, inten = ctx.h, ctx.w, ctx.rng, ctx.pal, ctx.intensity
    fx, fy = ctx.focal
    bg = d.vgrad(h, w, [(0.0, pal.deep), (0.7, d.mix(pal.deep, pal.shadow, 0.6)), (1.0, pal.deep)])
    n1 = d.fractal_noise(rng, h, w, scale=2.0, octaves=6, persistence=0.6)
    n2 = d.fractal_noise(rng, h, w, scale=1.5, octaves=3)
    n3 = d.fractal_noise(rng, h, w, scale=4.0, octaves=5, persistence=0.6)
    xs, ys = d.coords(h, w)
    slope = rng.uniform(-0.5, 0.5)
    band = np.exp(-(((ys - fy - slope * (xs - fx * w / h)) / (0.28 + 0.1 * inten)) ** 2))
    dens = d.smoothstep(0.3, 0.95, n1) ** 1.6 * (0.35 + 0.65 * band) * (0.6 + 0.9 * inten)
    col = pal.ramp(n2, (pal.shadow, pal.mid, pal.accent, pal.light))
    bg += col * dens[..., None] * 1.4
    bg += np.asarray(pal.light, F32) * (d.smoothstep(0.55, 1.0, dens) * 0.6)[..., None]
    dust = d.smoothstep(0.55, 0.85, n3) * d.smoothstep(0.05, 0.4, dens)
    bg *= (1.0 - 0.75 * dust)[..., None]
    _stars(ctx, bg, int(w * h / 700 * (0.6 + 0.6 * inten)), pal.light)

    mid = Layer(h, w)
    # A planet or moon with a lit crescent and an atmosphere rim.
    r = (0.16 + 0.1 * ((ctx.variant % 3) / 2)) * h
    cx = (1.0 - fx) * w if ctx.variant % 2 else fx * w
    cy = (0.25 + 0.55 * rng.random()) * h
    pad = int(r * 1.35)
    x0, x1 = max(0, int(cx - pad)), min(w, int(cx + pad))
    y0, y1 = max(0, int(cy - pad)), min(h, int(cy + pad))
    if x1 > x0 and y1 > y0:
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(F32)
        nx, ny = (xx - cx) / r, (yy - cy) / r
        rr = np.sqrt(nx * nx + ny * ny)
        disc = np.clip((1.0 - rr) * r * 0.7, 0, 1)
        nz = np.sqrt(np.clip(1 - rr * rr, 0, 1))
        lx, ly = ctx.light_side * 0.75, -0.45
        lam = np.clip(nx * lx + ny * ly + nz * 0.45, 0, 1)
        bands = 0.5 + 0.5 * np.sin(ny * (9 + 6 * rng.random()) + 2 * np.sin(nx * 3 + rng.random()))
        surf = np.asarray(pal.shadow, F32) * (0.5 + 0.5 * bands[..., None]) + np.asarray(
            pal.mid, F32
        ) * (bands[..., None] * 0.4)
        shade = surf * (0.12 + 1.1 * lam[..., None]) + np.asarray(pal.light, F32) * (
            lam[..., None] ** 6 * 0.5
        )
        rim = np.exp(-(((rr - 1.0) / 0.06) ** 2)) * (0.4 + 0.6 * np.clip(nx * lx + ny * ly, 0, 1))
        halo = np.exp(-np.clip(rr - 1.0, 0, None) / 0.12) * (rr > 1) * 0.55
        mid.paint_region(y0, y1, x0, x1, shade, disc)
        mid.paint_region(
            y0, y1, x0, x1, pal.accent, np.clip(rim + halo, 0, 1) * (0.6 + 0.4 * inten)
        )

    fg = Layer(h, w)
    _sparkles(ctx, fg, int(6 + 22 * inten), pal.light)
    _particles(ctx, fg, int(40 * ctx.density), pal.accent, (0.8, 2.0), glow_px=5)
    return Layers(bg, mid, fg)


def water(ctx: Ctx) -> Layers:
    h, w, rng, pal, inten = ctx.h, ctx.w, ctx.rng, ctx.pal, ctx.intensity
    hy = ctx.horizon * h
    hz = ctx.horizon
    sky_hi = d.mix(pal.shadow, pal.mid, 0.6)
    bg = d.vgrad(
        h,
        w,
        [
            (0.0, d.mix(pal.deep, pal.shadow, 0.7)),
            (hz * 0.55, sky_hi),
            (hz, d.mix(pal.accent, pal.light, 0.45)),
            (1.0, pal.deep),
        ],
    )
    sx, sy = ctx.focal[0], hz - 0.07 - 0.12 * (1 - inten) * (ctx.variant % 2)
    dist = d.radial(h, w, sx, sy, work=4)
    sun_r = 0.07 + 0.02 * inten
    bg = d.add_light(bg, pal.accent, np.exp(-dist / (0.22 + 0.1 * inten)) * (0.5 + 0.4 * inten))
    clouds = d.fractal_noise(rng, h, w, scale=1.5, octaves=5, stretch=(2.2, 0.5))
    ys = (np.arange(h, dtype=F32) / h)[:, None]
    cloud_band = d.smoothstep(0.0, 0.15, ys) * (1 - d.smoothstep(hz - 0.12, hz - 0.02, ys))
    cm = d.smoothstep(0.5, 0.8, clouds) * cloud_band * (0.5 + 0.5 * inten)
    cloud_col = pal.ramp(
        np.clip(1.0 - dist * 1.6, 0, 1), (pal.shadow, pal.mid, pal.accent, pal.light)
    )
    bg = bg * (1 - cm[..., None] * 0.85) + cloud_col * cm[..., None] * 0.85
    disc = np.clip((sun_r - dist) * h * 0.5, 0, 1)
    bg = d.blend(bg, d.mix(pal.light, (1.0, 1.0, 1.0), 0.5), disc)

    mid = Layer(h, w)
    sea_mask = np.clip(np.arange(h, dtype=F32)[:, None] - hy + 0.5, 0, 1) * np.ones((1, w), F32)
    depth = np.clip((ys - hz) / max(1e-3, 1 - hz), 0, 1)
    sea = d.vgrad(
        h,
        w,
        [
            (0.0, pal.deep),
            (hz, d.mix(pal.accent, pal.shadow, 0.55)),
            (min(1, hz + 0.12), d.mix(pal.shadow, pal.deep, 0.2)),
            (1.0, pal.deep),
        ],
    )
    waves = d.fractal_noise(rng, h, w, scale=2.0, octaves=6, stretch=(3.0, 0.35), work=2)
    # Perspective: ripples are finer near the horizon.
    ripple = np.sin((waves * 18 + 1.0 / (depth + 0.04)) * 2.0) * 0.5 + 0.5
    sea = sea * (0.75 + 0.45 * (ripple * (0.3 + 0.7 * depth))[..., None])
    xs = (np.arange(w, dtype=F32) / w)[None, :]
    col_w = 0.02 + 0.16 * depth
    column = np.exp(-(((xs - sx) / col_w) ** 2)) * (1 - 0.6 * depth)
    glints = d.smoothstep(0.55, 0.85, ripple * waves + 0.25) * column
    sea = d.add_light(sea, pal.light, glints * (0.8 + 0.6 * inten))
    sea = d.add_light(sea, pal.accent, column * 0.35)
    mid.paint(sea, sea_mask)

    fg = Layer(h, w)
    n = int(30 + 90 * inten)
    xs_n = np.clip(sx + rng.normal(0, 0.08, n), 0, 1) * w
    ys_n = hy + rng.random(n) ** 1.5 * (h - hy)
    vals = rng.random(n) * 0.7 + 0.3
    core = d.dots(h, w, xs_n, ys_n, (1 + rng.random(n) * 2.5) * ctx.px, vals)
    fg.paint(pal.light, np.clip(core + d.glow(core, 5 * ctx.px) * 2, 0, 1))
    return Layers(bg, mid, fg)


def city(ctx: Ctx) -> Layers:
    h, w, rng, pal, inten, px = ctx.h, ctx.w, ctx.rng, ctx.pal, ctx.intensity, ctx.px
    hz = ctx.horizon
    hy = hz * h
    haze = d.mix(pal.accent, pal.mid, 0.4)
    bg = d.vgrad(
        h,
        w,
        [
            (0.0, pal.deep),
            (hz * 0.6, d.mix(pal.deep, pal.shadow, 0.8)),
            (hz, d.mix(pal.shadow, haze, 0.6)),
            (1.0, pal.deep),
        ],
    )
    _stars(ctx, bg, int(w * h / 3000), pal.light)
    # Retro sun with horizontal cuts: the neon-city signature.
    sx, sr = ctx.focal[0], (0.2 + 0.06 * inten)
    sy = hz - sr * (0.35 + 0.3 * (ctx.variant % 2))
    dist = d.radial(h, w, sx, sy, work=2)
    ys = (np.arange(h, dtype=F32) / h)[:, None]
    t = np.clip((ys - (sy - sr)) / (2 * sr), 0, 1)
    stripes = (np.sin((ys - sy) * 90.0) > (np.clip((ys - sy) / sr, -1, 1) * 1.6 - 0.4)).astype(F32)
    sun = np.clip((sr - dist) * h * 0.6, 0, 1) * np.where(ys > sy, stripes, 1.0)
    sun_col = d.vgrad(
        h,
        w,
        [
            (0.0, pal.light),
            (max(0.0, sy - sr), pal.light),
            (sy + sr, pal.accent),
            (1.0, pal.accent),
        ],
    )
    bg = d.add_light(
        bg, pal.accent, np.exp(-np.clip(dist - sr, 0, None) / 0.12) * 0.5 * (0.6 + 0.6 * inten)
    )
    bg = bg * (1 - sun[..., None]) + sun_col * sun[..., None] * (0.85 + 0.15 * t[..., None])

    mid = Layer(h, w)
    # Two skyline rows: far (hazy, lighter) and near (dark, lit windows).
    for row, (hmin, hmax, shade) in enumerate(((0.08, 0.3, 0.55), (0.12, 0.5, 0.0))):
        mask = np.zeros((h, w), F32)
        windows = np.zeros((h, w), np.uint8)
        x = -rng.random() * 40 * px
        while x < w:
            bw = (0.035 + 0.06 * rng.random()) * w * (1.3 if row == 0 else 1.0)
            bh = (hmin + (hmax - hmin) * rng.random() ** 1.3) * h * (0.8 + 0.4 * inten)
            top = hy - bh
            x0, x1 = int(x), int(min(w, x + bw - 2 * px))
            mask[max(0, int(top)) : int(hy) + 1, max(0, x0) : x1] = 1.0
            if rng.random() < 0.3:  # antenna
                ax = int(x + bw / 2)
                mask[max(0, int(top - 30 * px)) : max(0, int(top)), max(0, ax - 1) : ax + 1] = 1.0
            if row == 1:
                gw, gh = max(2, int(5 * px)), max(2, int(7 * px))
                lit_p = 0.15 + 0.35 * inten
                for wy in range(int(top + 8 * px), int(hy - 6 * px), int(gh * 2.2)):
                    for wx in range(x0 + int(5 * px), x1 - int(5 * px), int(gw * 2.4)):
                        if rng.random() < lit_p:
                            windows[wy : wy + gh, wx : wx + gw] = 1 + int(rng.random() < 0.25)
            x += bw
        col = d.mix(pal.deep, haze, shade * 0.55)
        mid.paint(col, mask)
        if row == 1:
            win_light = (windows == 1).astype(F32)
            win_accent = (windows == 2).astype(F32)
            mid.paint(pal.light, win_light * 0.9)
            mid.paint(pal.accent, win_accent * 0.95)
    # Neon floor grid converging to a vanishing point.
    floor = np.clip(np.arange(h, dtype=F32)[:, None] - hy, 0, 1) * np.ones((1, w), F32)
    mid.paint(pal.deep, floor)
    segs = []
    vx = 0.5 * w
    for k in range(-14, 15):
        segs.append((vx + k * 0.02 * w, hy, vx + k * 0.22 * w, h * 1.02))
    for j in range(1, 12):
        yy = hy + (h - hy) * (j / 11) ** 2.2
        segs.append((0, yy, w, yy))
    grid = d.lines(h, w, np.array(segs, F32), np.ones(len(segs), F32), max(1, int(1.5 * px)))
    grid *= floor * d.smoothstep(
        0.0, 0.35, (np.arange(h, dtype=F32)[:, None] - hy) / max(1.0, h - hy)
    )
    mid.paint(pal.accent, np.clip(grid + d.glow(grid, 6 * px) * 2.0, 0, 1) * (0.5 + 0.5 * inten))

    fg = Layer(h, w)
    # Street-level bokeh: out-of-focus lights in front of the camera, low in the frame.
    n = int(4 + 10 * inten)
    for color in (pal.accent, pal.light):
        xs = rng.random(n) * w
        yy = (0.55 + rng.random(n) * 0.45) * h
        r = (10 + rng.random(n) * 28) * px
        blob = d.glow(d.dots(h, w, xs, yy, r, rng.random(n) * 0.5 + 0.3), 3 * px)
        fg.paint(color, blob * 0.4)
    return Layers(bg, mid, fg)


# Prompts whose trees have round, coloured crowns (blossoms, autumn leaves, jungle) not pines.
BROADLEAF = frozenset(
    {
        "cherry blossom",
        "sakura",
        "autumn",
        "fall",
        "spring",
        "jungle",
        "garden",
        "tropical",
        "summer",
    }
)


def _broadleaf_row(
    ctx: Ctx, n: int, base: float, depth: float
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Trunk polygons plus crown and crown-highlight masks for one row of round-crowned trees."""
    h, w, rng, px = ctx.h, ctx.w, ctx.rng, ctx.px
    trunks: list[np.ndarray] = []
    cx, cy, cr, hx, hy, hr = [], [], [], [], [], []
    for _ in range(max(3, n)):
        tx = rng.random() * w
        th = (0.16 + 0.3 * depth * rng.uniform(0.6, 1.2)) * h * (0.8 + 0.3 * ctx.intensity)
        by = base + rng.uniform(-0.02, 0.04) * h
        crown_y, radius = by - th * 0.68, th * 0.3
        tw = max(1.5 * px, th * 0.045)
        trunks.append(
            np.array(
                [
                    [tx - tw, by + 0.2 * h],
                    [tx + tw, by + 0.2 * h],
                    [tx + tw * 0.5, crown_y],
                    [tx - tw * 0.5, crown_y],
                ]
            )
        )
        for _k in range(9):
            ox, oy = rng.normal(0, 0.45) * radius, rng.normal(0, 0.3) * radius
            r = radius * rng.uniform(0.4, 0.7)
            cx.append(tx + ox)
            cy.append(crown_y + oy)
            cr.append(r)
            # Highlights on the side facing the light.
            hx.append(tx + ox + ctx.light_side * r * 0.25)
            hy.append(crown_y + oy - r * 0.25)
            hr.append(r * 0.6)
    ones = np.ones(len(cx))
    crowns = d.dots(h, w, np.array(cx), np.array(cy), np.array(cr), ones)
    highlights = d.dots(h, w, np.array(hx), np.array(hy), np.array(hr), ones) * crowns
    return trunks, crowns, highlights


def forest(ctx: Ctx) -> Layers:
    h, w, rng, pal, inten = ctx.h, ctx.w, ctx.rng, ctx.pal, ctx.intensity
    hz = ctx.horizon
    broadleaf = bool(ctx.tags & BROADLEAF)
    fog = d.mix(pal.light, pal.mid, 0.35)
    bg = d.vgrad(
        h,
        w,
        [
            (0.0, d.mix(pal.shadow, pal.mid, 0.5)),
            (hz * 0.8, fog),
            (1.0, d.mix(fog, pal.shadow, 0.5)),
        ],
    )
    lx, ly = ctx.focal[0] + 0.15 * ctx.light_side, -0.05
    dist = d.radial(h, w, lx, ly, work=4)
    bg = d.add_light(bg, pal.light, np.exp(-dist / 0.35) * (0.5 + 0.3 * inten))
    # God rays: noise along the angle around the light source.
    hh, ww = h // 4, w // 4
    xs, ys = d.coords(hh, ww)
    ang = np.arctan2(ys - ly, xs - lx * ww / hh)
    ray_noise = d.noise_1d(rng, 720, scale=12, octaves=3)
    idx = ((ang + math.pi) / (2 * math.pi) * 719).astype(np.int32)
    rays = d.smoothstep(0.1, 0.8, ray_noise[idx] * 0.5 + 0.5) * np.exp(
        -np.sqrt((xs - lx * ww / hh) ** 2 + (ys - ly) ** 2) / 0.9
    )
    bg = d.add_light(bg, pal.light, d.resize(rays.astype(F32), w, h) * (0.25 + 0.35 * inten))

    mid = Layer(h, w)
    fg = Layer(h, w)
    rows = 4
    for r in range(rows):
        depth = (r + 1) / rows
        polys = []
        n = int((34 - 7 * r) * w / h / 1.78)
        base = hz * h + depth * 0.16 * h
        ground = np.clip(np.arange(h, dtype=F32)[:, None] - (base + 0.02 * h), 0, 1) * np.ones(
            (1, w), F32
        )
        col = d.mix(fog, pal.deep, depth**0.7 * 0.9)
        if broadleaf:
            trunks, crowns, lit = _broadleaf_row(ctx, int(n * 0.6), base, depth)
            mid.paint(col, np.maximum(d.aa_poly_mask(h, w, trunks), ground))
            crown_col = d.mix(d.mix(pal.accent, pal.mid, 0.35), fog, (1 - depth) * 0.65)
            mid.paint(crown_col, crowns)
            mid.paint(d.mix(pal.light, crown_col, 0.4), lit * (0.25 + 0.35 * depth))
            if r < rows - 1:
                ysn = (np.arange(h, dtype=F32)[:, None] - base) / h
                band = np.exp(-((ysn / 0.09) ** 2)) * np.ones((1, w), F32)
                mid.paint(fog, band * (0.3 + 0.15 * (1 - inten)))
            continue
        for _ in range(max(3, n)):
            tx = rng.random() * w
            th = (0.18 + 0.35 * depth * rng.uniform(0.6, 1.2)) * h * (0.8 + 0.3 * inten)
            tw = th * rng.uniform(0.28, 0.4)
            by = base + rng.uniform(-0.02, 0.04) * h
            tiers = 4
            for k in range(tiers):
                ty = by - th * (k / tiers) * 0.9
                half = tw * 0.5 * (1 - k / (tiers + 0.5))
                polys.append(
                    np.array([[tx - half, ty], [tx + half, ty], [tx, ty - th * 0.38]], np.float64)
                )
            polys.append(
                np.array(
                    [
                        [tx - tw * 0.05, by],
                        [tx + tw * 0.05, by],
                        [tx + tw * 0.05, by + 0.2 * h],
                        [tx - tw * 0.05, by + 0.2 * h],
                    ]
                )
            )
        mask = d.aa_poly_mask(h, w, polys)
        mid.paint(col, np.maximum(mask, ground))
        if r < rows - 1:
            # Mist between rows of trees: depth you can see.
            ysn = (np.arange(h, dtype=F32)[:, None] - base) / h
            band = np.exp(-((ysn / 0.09) ** 2)) * np.ones((1, w), F32)
            mid.paint(fog, band * (0.35 + 0.15 * (1 - inten)))
    # Foreground trunks framing the shot, on the side away from the focal point.
    side = 0 if ctx.focal[0] > 0.5 else 1
    polys = []
    for k in range(2):
        cx = (0.04 + 0.1 * k + rng.random() * 0.04) * w
        cx = cx if side == 0 else w - cx
        tw = (0.03 + 0.03 * rng.random()) * w
        polys.append(
            np.array(
                [
                    [cx - tw / 2, -10],
                    [cx + tw / 2, -10],
                    [cx + tw * 0.7, h + 10],
                    [cx - tw * 0.7, h + 10],
                ]
            )
        )
    fg.paint(pal.deep, d.aa_poly_mask(h, w, polys))
    if broadleaf:
        # Falling petals / leaves drifting across the frame.
        _particles(
            ctx, fg, int(40 + 140 * inten), d.mix(pal.accent, pal.light, 0.3), (1.5, 3.5), glow_px=2
        )
    else:  # fireflies
        _particles(
            ctx, fg, int(20 + 80 * inten), pal.accent, (1.0, 2.5), (hz - 0.2, 0.95), glow_px=9
        )
    return Layers(bg, mid, fg)


def fire(ctx: Ctx) -> Layers:
    h, w, rng, pal, inten, px = ctx.h, ctx.w, ctx.rng, ctx.pal, ctx.intensity, ctx.px
    bg = d.vgrad(
        h,
        w,
        [
            (0.0, pal.deep),
            (0.5, d.mix(pal.deep, pal.shadow, 0.7)),
            (1.0, d.mix(pal.shadow, pal.accent, 0.4)),
        ],
    )
    smoke = d.fractal_noise(rng, h, w, scale=1.5, octaves=5, stretch=(0.6, 1.0))
    bg *= (0.65 + 0.6 * smoke)[..., None]

    # Flames at 1/3 size (they are soft): tongues from a cosine comb whose x is warped by noise
    # more and more with height, so tips curl and split like real flames.
    hh, ww = max(16, h // 3), max(16, w // 3)
    aspect = w / h
    xs = np.linspace(0, 1, ww, dtype=F32)[None, :]
    up = 1.0 - np.linspace(0, 1, hh, dtype=F32)[:, None]  # 0 at the bottom, 1 at the top
    warp = d.fractal_noise(rng, hh, ww, scale=2.0, octaves=4, stretch=(1.6, 0.8), work=1) * 2 - 1
    xw = xs + (0.025 + 0.06 * up) * warp
    k = (4.0 + 3.0 * inten) * aspect / 1.78
    ph = rng.random(2) * 6.28
    comb = 0.5 + 0.5 * np.cos(6.2832 * k * xw + ph[0]) * (
        0.6 + 0.4 * np.cos(6.2832 * k * 0.37 * xw + ph[1])
    )
    fx = ctx.focal[0]
    env = 0.45 + 0.55 * np.exp(-(((xs - fx) / 0.35) ** 2))
    detail = d.fractal_noise(rng, hh, ww, scale=3.0, octaves=4, stretch=(0.7, 1.3), work=1)
    height = (0.2 + 0.8 * comb**1.5) * env * (0.38 + 0.42 * inten) * (0.75 + 0.5 * detail)
    f = np.clip(1.0 - up / np.maximum(height, 1e-3), 0, 1)
    # Detached licks above the tips: flames flicker apart before they vanish.
    licks = d.smoothstep(0.62, 0.8, detail) * d.smoothstep(1.5, 1.0, up / np.maximum(height, 1e-3))
    f = np.maximum(f**1.2, licks * 0.35)
    f = np.clip(d.resize(f.astype(F32), w, h, cubic=True), 0, 1)
    hot = (1.0, 0.97, 0.86)
    col = pal.ramp(f, (d.mix(pal.shadow, pal.accent, 0.6), pal.accent, pal.light, hot))
    mid = Layer(h, w)
    mid.paint(col, d.smoothstep(0.0, 0.22, f))
    bg = d.add_light(bg, pal.accent, d.glow(f, 40 * px) * (0.55 + 0.45 * inten))

    fg = Layer(h, w)
    n = int(60 + 260 * inten)
    ex = rng.random(n) * w
    ey = (0.1 + rng.random(n) ** 0.6 * 0.85) * h
    ln = (3 + rng.random(n) * 12 * (0.5 + inten)) * px
    ang = -math.pi / 2 + rng.normal(0, 0.4, n)
    segs = np.stack([ex, ey, ex + np.cos(ang) * ln, ey + np.sin(ang) * ln], 1)
    streaks = d.lines(h, w, segs, rng.random(n) * 0.7 + 0.3, max(1, int(1.5 * px)))
    fg.paint(pal.light, np.clip(streaks + d.glow(streaks, 5 * px) * 2.0, 0, 1))
    return Layers(bg, mid, fg)


def aurora(ctx: Ctx) -> Layers:
    h, w, rng, pal, inten, px = ctx.h, ctx.w, ctx.rng, ctx.pal, ctx.intensity, ctx.px
    hz = ctx.horizon
    bg = d.vgrad(h, w, [(0.0, pal.deep), (hz, d.mix(pal.shadow, pal.mid, 0.3)), (1.0, pal.deep)])
    _stars(ctx, bg, int(w * h / 900), pal.light)
    hh, ww = h // 3, w // 3
    ys = np.linspace(0, 1, hh, dtype=F32)[:, None]
    rays = d.fractal_noise(rng, hh, ww, scale=3.0, octaves=5, stretch=(0.15, 3.5), work=1)
    light = np.zeros((hh, ww, 3), F32)
    for k in range(2 + int(inten * 1.5)):
        base = (0.22 + 0.2 * k / 2 + rng.uniform(-0.05, 0.05)) * hz / 0.6
        line = (
            base
            + 0.08 * d.noise_1d(rng, ww, scale=2.5)
            + 0.04 * np.sin(np.linspace(0, 6, ww) + rng.random() * 6)
        )
        dy = line[None, :] - ys  # > 0 above the curtain's lower edge
        v = np.exp(-np.abs(dy) / np.where(dy > 0, 0.16 + 0.1 * inten, 0.012))
        curtain = (v * (0.35 + 0.9 * rays) * (0.55 + 0.6 * inten)).astype(F32)
        top_col = np.asarray(pal.mid if k % 2 == 0 else pal.light, F32)
        colour = (
            np.asarray(pal.accent, F32) * np.exp(-np.clip(dy, 0, None) / 0.08)[..., None]
            + top_col * (1 - np.exp(-np.clip(dy, 0, None) / 0.08))[..., None]
        )
        light += colour * curtain[..., None]
    bg += d.resize(light, w, h)

    mid = Layer(h, w)
    ridge = hz * h - (0.1 + 0.16 * (0.5 + 0.5 * d.noise_1d(rng, w, scale=3, octaves=5))) * h * 0.9
    mask = d.fill_below(h, w, ridge)
    ys_full = np.arange(h, dtype=F32)[:, None]
    rim = np.exp(-np.clip(ys_full - ridge[None, :], 0, None) / (14 * px)) * mask
    rock = d.vgrad(
        h, w, [(0.0, pal.shadow), (hz, d.mix(pal.deep, pal.shadow, 0.4)), (1.0, pal.deep)]
    )
    mid.paint(rock, mask)
    mid.paint(d.mix(pal.accent, pal.light, 0.5), rim * 0.5)
    # A still lake mirrors sky and mountains: flip what is above the shore, darken, ripple.
    shore = int(min(h - 2, hz * h + 0.015 * h))
    depth = h - shore
    src_rows = np.clip(2 * shore - np.arange(shore, h), 0, shore - 1)
    ripple = (np.sin(np.arange(depth, dtype=F32) * 0.9 / px) * 2.0 * px).astype(np.int32)
    cols = np.clip(np.arange(w)[None, :] + ripple[:, None], 0, w - 1)
    sky_above = bg[src_rows[:, None], cols]
    mnt_above = (mask * 1.0)[src_rows[:, None], cols][..., None]
    refl = (
        sky_above * (1 - mnt_above) + np.asarray(d.mix(pal.deep, pal.shadow, 0.5), F32) * mnt_above
    )
    fade = np.linspace(0.6, 0.25, depth, dtype=F32)[:, None, None]
    lake = np.zeros((h, w, 3), F32)
    lake[shore:] = refl * fade
    lake_mask = np.zeros((h, w), F32)
    lake_mask[shore:] = 1.0
    mid.paint(lake, lake_mask)
    mid.paint(
        pal.deep, np.clip(1.0 - np.abs(ys_full - shore) / (2.5 * px), 0, 1) * np.ones((1, w), F32)
    )

    fg = Layer(h, w)
    if "snow" not in ctx.effects:
        _sparkles(ctx, fg, int(4 + 14 * inten), pal.light, (0.0, hz * 0.8))
    return Layers(bg, mid, fg)


def geometric(ctx: Ctx) -> Layers:
    h, w, rng, pal, inten, px = ctx.h, ctx.w, ctx.rng, ctx.pal, ctx.intensity, ctx.px
    bg = d.vgrad(h, w, [(0.0, pal.shadow), (1.0, pal.deep)])
    for color in (pal.accent, pal.mid, pal.light):
        dist = d.radial(h, w, rng.random(), rng.random(), work=8)
        bg = d.add_light(bg, color, np.exp(-((dist / (0.35 + 0.2 * rng.random())) ** 2)) * 0.35)
    mid = Layer(h, w)
    cx, cy = ctx.focal[0] * w, ctx.focal[1] * h
    sides = (3, 4, 6, 5)[ctx.variant % 4]
    rings = 5 + int(8 * inten)
    rot0 = rng.random() * math.pi
    polys_fill = []
    segs = []
    vals = []
    for k in range(rings):
        r = (0.06 + 0.09 * k) * h * (0.8 + 0.4 * inten)
        rot = rot0 + k * (0.12 + 0.15 * inten)
        pts = [
            (
                cx + r * math.cos(rot + 2 * math.pi * j / sides),
                cy + r * math.sin(rot + 2 * math.pi * j / sides),
            )
            for j in range(sides)
        ]
        for j in range(sides):
            segs.append((*pts[j], *pts[(j + 1) % sides]))
            vals.append(1.0 - 0.6 * k / rings)
        if k % 3 == 1:
            polys_fill.append(np.array(pts))
    fills = d.aa_poly_mask(h, w, polys_fill)
    mid.paint(pal.mid, fills * 0.18)
    outline = d.lines(h, w, np.array(segs, F32), np.array(vals, F32), max(1, int(2.5 * px)))
    mid.paint(pal.accent, np.clip(outline + d.glow(outline, 10 * px) * 2.2, 0, 1))
    fg = Layer(h, w)
    n = int(8 + 20 * inten)
    polys = []
    for _ in range(n):
        px0, py0, s = rng.random() * w, rng.random() * h, (6 + rng.random() * 30) * px
        a0 = rng.random() * math.pi
        polys.append(
            np.array(
                [
                    (
                        px0 + s * math.cos(a0 + 2 * math.pi * j / 3),
                        py0 + s * math.sin(a0 + 2 * math.pi * j / 3),
                    )
                    for j in range(3)
                ]
            )
        )
    shapes = d.aa_poly_mask(h, w, polys)
    fg.paint(
        d.mix(pal.light, pal.accent, 0.35), np.clip(shapes * 0.45 + d.glow(shapes, 8 * px), 0, 1)
    )
    _particles(ctx, fg, int(30 * ctx.density), pal.accent, (0.8, 2.0), glow_px=6)
    return Layers(bg, mid, fg)


def desert(ctx: Ctx) -> Layers:
    h, w, rng, pal, inten, px = ctx.h, ctx.w, ctx.rng, ctx.pal, ctx.intensity, ctx.px
    hz = ctx.horizon
    bg = d.vgrad(
        h,
        w,
        [
            (0.0, d.mix(pal.shadow, pal.mid, 0.4)),
            (hz * 0.7, d.mix(pal.mid, pal.accent, 0.5)),
            (hz, d.mix(pal.light, pal.accent, 0.3)),
            (1.0, pal.light),
        ],
    )
    sx, sy = ctx.focal[0], hz - 0.1 - 0.1 * (1 - inten)
    dist = d.radial(h, w, sx, sy, work=4)
    sr = 0.13 + 0.03 * inten
    bg = d.add_light(bg, pal.light, np.exp(-np.clip(dist - sr, 0, None) / 0.18) * 0.55)
    bg = d.blend(bg, d.mix(pal.light, (1.0, 1.0, 0.95), 0.6), np.clip((sr - dist) * h * 0.5, 0, 1))
    haze = d.fractal_noise(rng, h, w, scale=1.0, octaves=4, stretch=(4.0, 0.3))
    ysn = (np.arange(h, dtype=F32) / h)[:, None]
    bg = d.add_light(
        bg,
        pal.light,
        d.smoothstep(0.6, 0.9, haze) * np.exp(-(((ysn - hz + 0.05) / 0.08) ** 2)) * 0.25,
    )

    mid = Layer(h, w)
    xs = np.linspace(0, 1, w, dtype=F32)
    layers = 4
    for k in range(layers):
        depth = (k + 1) / layers
        base = (hz + 0.02 + 0.12 * depth**1.2 * (1 - hz) / 0.4) * h
        amp = (0.03 + 0.06 * depth) * h
        ph = rng.random() * 6.28
        # Cycles per frame width scale with the aspect, so 9:16 dunes stay dunes, not peaks.
        fr = rng.uniform(1.0, 2.2) / (0.6 + depth) * max(0.35, w / h / 1.78)
        curve = (
            base
            - amp * (np.sin(xs * fr * 6.28 + ph) + 0.35 * np.sin(xs * fr * 15 + ph * 2))
            - amp * 0.6 * d.noise_1d(rng, w, scale=max(1.5, 3 * w / h / 1.78))
        )
        slope = np.gradient(curve)
        lit = np.clip(0.5 - slope * ctx.light_side * 2.0 / px, 0, 1)
        fill = d.fill_below(h, w, curve)
        far = d.mix(d.mix(pal.light, pal.accent, 0.5), pal.mid, 0.3)
        near = d.mix(pal.accent, pal.shadow, 0.55)
        base_col = np.asarray(d.mix(far, near, depth), F32)
        shade = (
            base_col[None, None, :] * (0.65 + 0.55 * lit[None, :, None]) * np.ones((h, 1, 1), F32)
        )
        rows = np.arange(h, dtype=F32)[:, None]
        shade *= (1.0 - 0.25 * d.smoothstep(0, 0.25 * h, rows - curve[None, :]))[..., None]
        mid.paint(shade, fill)
        crest = np.exp(-np.abs(rows - curve[None, :]) / (2.5 * px)) * fill * lit[None, :]
        mid.paint(pal.light, crest * 0.5)
    fg = Layer(h, w)
    n = int(40 + 140 * inten)
    ex, ey = rng.random(n) * w, (hz + rng.random(n) * (1 - hz)) * h
    ln = (6 + rng.random(n) * 30) * px
    segs = np.stack([ex, ey, ex + ln * ctx.light_side * -1, ey - ln * 0.08], 1)
    fg.paint(pal.light, d.lines(h, w, segs, rng.random(n) * 0.4 + 0.1, 1) * 0.8)
    return Layers(bg, mid, fg)


def underwater(ctx: Ctx) -> Layers:
    h, w, rng, pal, inten, px = ctx.h, ctx.w, ctx.rng, ctx.pal, ctx.intensity, ctx.px
    surface = d.mix(pal.light, pal.mid, 0.6)
    bg = d.vgrad(
        h,
        w,
        [
            (0.0, surface),
            (0.3, d.mix(pal.mid, pal.shadow, 0.6)),
            (0.75, pal.shadow),
            (1.0, pal.deep),
        ],
    )
    # Light shafts from the surface, wavering with the waves: noise along the angle.
    lx = ctx.focal[0] + 0.2 * ctx.light_side
    hh, ww = max(8, h // 4), max(8, w // 4)
    xs, ys = d.coords(hh, ww)
    ang = np.arctan2(ys + 0.4, xs - lx * ww / hh)
    shafts = d.noise_1d(rng, 512, scale=18, octaves=3)
    idx = np.clip(((ang / math.pi) * 511).astype(np.int32), 0, 511)
    rays = d.smoothstep(0.05, 0.75, shafts[idx] * 0.5 + 0.5) * np.exp(-ys / (0.45 + 0.3 * inten))
    bg = d.add_light(bg, pal.light, d.resize(rays.astype(F32), w, h) * (0.2 + 0.25 * inten))
    # Caustic ripples near the surface.
    caustic = d.fractal_noise(rng, h, w, scale=4.0, octaves=3, stretch=(0.6, 1.4), work=2)
    ripple = np.abs(np.sin(caustic * 22.0))
    ysn = (np.arange(h, dtype=F32) / h)[:, None]
    bg = d.add_light(bg, pal.light, (1 - ripple) ** 12 * np.exp(-ysn / 0.08) * 0.25)

    mid = Layer(h, w)
    floor_y = (0.84 + 0.06 * d.noise_1d(rng, w, scale=3, octaves=4)) * h
    bed = d.vgrad(h, w, [(0.0, pal.shadow), (1.0, pal.deep)])
    mid.paint(bed, d.fill_below(h, w, floor_y))
    # Kelp: swaying ribbons from the sea floor, darker when nearer.
    for depth in (0.5, 1.0):
        canvas = np.zeros((h, w), np.uint8)
        n = int((5 + 7 * inten) * (w / h) / 1.78 * (1.5 if depth < 1 else 1.0))
        for _ in range(n):
            x0 = rng.random() * w
            base = float(np.interp(x0, np.arange(w), floor_y)) + 5 * px
            top = base - (0.25 + 0.45 * rng.random()) * h * depth
            t = np.linspace(0, 1, 24)
            sway = (
                (12 + 30 * rng.random())
                * px
                * np.sin(t * (2 + 3 * rng.random()) + rng.random() * 6)
            )
            pts = np.stack([x0 + sway * t, base + (top - base) * t], 1)
            # A tapering ribbon: offset the centre line along its normal, wide at the root.
            half = (3 + 5 * rng.random()) * px * depth * (1.0 - 0.85 * t)[:, None]
            tang = np.gradient(pts, axis=0)
            normal = np.stack([-tang[:, 1], tang[:, 0]], 1)
            normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-6)
            outline = np.concatenate([pts + normal * half, (pts - normal * half)[::-1]])
            cv2.fillPoly(canvas, [np.round(outline * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
        col = d.mix(pal.shadow, pal.deep, depth * 0.8)
        mid.paint(col, canvas.astype(F32) / 255.0)
    # Haze between kelp and camera.
    mid.paint(
        d.mix(pal.mid, pal.shadow, 0.5), d.smoothstep(0.4, 1.0, ysn) * np.ones((1, w), F32) * 0.15
    )

    fg = Layer(h, w)
    n = int(25 + 70 * inten)
    bx = (ctx.focal[0] + rng.normal(0, 0.25, n)) * w
    by = rng.random(n) * h
    br = (2 + rng.random(n) ** 2 * 9) * px
    ring = np.zeros((h, w), np.uint8)
    for x, y, r in zip(bx, by, br, strict=True):
        cv2.circle(
            ring, (int(x * 16), int(y * 16)), int(r * 16), 200, max(1, int(px)), cv2.LINE_AA, 4
        )
    ring_f = ring.astype(F32) / 255.0
    fg.paint(pal.light, np.clip(ring_f + d.glow(ring_f, 3 * px), 0, 1))
    _particles(
        ctx, fg, int(80 + 100 * inten), d.mix(pal.light, pal.mid, 0.4), (0.5, 1.3), glow_px=2
    )
    return Layers(bg, mid, fg)


FAMILY_RENDERERS: dict[str, Callable[[Ctx], Layers]] = {
    "underwater": underwater,
    "space": space,
    "water": water,
    "city": city,
    "forest": forest,
    "fire": fire,
    "aurora": aurora,
    "geometric": geometric,
    "desert": desert,
}


# --------------------------------------------------------------------------- combinations

# Families with a horizon whose ground can turn into water when the prompt also names water,
# and where the shore lies (fraction of the ground below the horizon kept as land).
REFLECTIVE = {"city": 0.0, "forest": 0.1, "desert": 0.55}


def reflect_into_water(ctx: Ctx, layers: Layers, land: float = 0.0) -> None:
    """Replace the ground below the shore with a rippled, darkened mirror of the scene above."""
    h, w, pal, px = ctx.h, ctx.w, ctx.pal, ctx.px
    shore_frac = ctx.horizon + land * (1.0 - ctx.horizon)
    shore = int(min(h - 2, max(2, round(shore_frac * h))))
    above = layers.bg[:shore] * (1.0 - layers.mid.a[:shore, :, None]) + layers.mid.rgb[:shore]
    depth = h - shore
    rows = np.arange(depth, dtype=F32)
    src = np.clip(shore - 1 - rows.astype(np.int32), 0, shore - 1)
    # Ripples grow toward the camera; their phase varies along x for a wavy, broken mirror.
    amp = (1.0 + 6.0 * rows / max(1, depth)) * px
    xs = np.arange(w, dtype=F32)
    shift = amp[:, None] * np.sin(rows[:, None] * 0.35 / px + np.sin(xs[None, :] * 0.02 / px) * 2.0)
    cols = np.clip((xs[None, :] + shift).astype(np.int32), 0, w - 1)
    refl = above[src[:, None], cols]
    fade = np.linspace(0.7, 0.3, depth, dtype=F32)[:, None, None]
    water = np.zeros((h, w, 3), F32)
    water[shore:] = refl * fade + np.asarray(pal.deep, F32) * (1.0 - fade) * 0.6
    # Horizontal glints where bright lights are mirrored.
    lum = water @ np.array([0.2126, 0.7152, 0.0722], F32)
    streak = cv2.blur(d.smoothstep(0.25, 0.6, lum), (max(3, int(25 * px)), 1))
    water = d.add_light(water, pal.light, streak * 0.35)
    mask = np.zeros((h, w), F32)
    mask[shore:] = 1.0
    layers.mid.paint(water, mask)
    layers.mid.paint(
        pal.deep,
        np.clip(1.0 - np.abs(np.arange(h, dtype=F32)[:, None] - shore) / (1.5 * px), 0, 1)
        * np.ones((1, w), F32)
        * 0.6,
    )


# --------------------------------------------------------------------------- effects


def apply_effects(ctx: Ctx, layers: Layers) -> None:
    h, w, rng, pal, inten, px = ctx.h, ctx.w, ctx.rng, ctx.pal, ctx.intensity, ctx.px
    for eff in ctx.effects:
        if eff == "fog":
            fog_n = d.fractal_noise(rng, h, w, scale=1.2, octaves=4, stretch=(0.8, 0.6))
            ysn = (np.arange(h, dtype=F32) / h)[:, None]
            band = np.exp(-(((ysn - ctx.horizon - 0.05) / 0.25) ** 2))
            layers.mid.paint(
                d.mix(pal.light, pal.mid, 0.3),
                d.smoothstep(0.3, 0.9, fog_n) * band * (0.4 - 0.2 * inten),
            )
        elif eff == "rain":
            n = int((250 + 600 * inten) * w * h / (1280 * 720))
            x, y = rng.random(n) * w, rng.random(n) * h
            ln = (14 + rng.random(n) * 26) * px
            slant = 0.18
            segs = np.stack([x, y, x + ln * slant, y + ln], 1)
            layers.fg.paint(pal.light, d.lines(h, w, segs, rng.random(n) * 0.35 + 0.15, 1))
        elif eff == "snow":
            _particles(
                ctx,
                layers.fg,
                int(50 + 120 * inten),
                (0.97, 0.98, 1.0),
                (1.0, 3.0),
                glow_px=4,
                soft=True,
            )
        elif eff == "embers":
            _particles(
                ctx, layers.fg, int(30 + 120 * inten), pal.accent, (0.8, 2.2), (0.2, 1.0), glow_px=7
            )
        elif eff == "bokeh":
            n = int(3 + 8 * inten)
            for color in (pal.accent, pal.light):
                blob = d.glow(
                    d.dots(
                        h,
                        w,
                        rng.random(n) * w,
                        rng.random(n) * h,
                        (15 + rng.random(n) * 45) * px,
                        rng.random(n) * 0.4 + 0.2,
                    ),
                    2 * px,
                )
                layers.fg.paint(color, blob * 0.32)
        elif eff == "sparkle":
            _sparkles(ctx, layers.fg, int(3 + 10 * inten), pal.light)
        elif eff == "dust":
            _particles(
                ctx,
                layers.fg,
                int(80 + 150 * inten),
                d.mix(pal.light, pal.accent, 0.3),
                (0.5, 1.4),
                glow_px=3,
            )
        elif eff == "lightning" and inten > 0.45:
            bx = float((0.2 + 0.6 * rng.random()) * w)
            pts = [(bx, 0.0)]
            by = 0.0
            while by < ctx.horizon * h:
                by += float((20 + rng.random() * 40) * px)
                bx += float(rng.normal(0, 25) * px)
                pts.append((bx, by))
            segs = np.array([(*pts[i], *pts[i + 1]) for i in range(len(pts) - 1)], F32)
            bolt = d.lines(h, w, segs, np.ones(len(segs), F32), max(1, int(2 * px)))
            layers.fg.paint((0.95, 0.95, 1.0), np.clip(bolt + d.glow(bolt, 20 * px) * 3.0, 0, 1))
