"""Looking through something: a window with rain on the glass, a porthole.

Any family's scene can be framed this way: the scene stays in the background and mid layers
(seen through the glass) and the frame is drawn in the foreground layer, nearest the camera.
"""

from __future__ import annotations

import numpy as np

from services.seeder import drawing as d
from services.seeder.drawing import F32
from services.seeder.motifs import Ctx, Layers


def window(ctx: Ctx, layers: Layers) -> Layers:
    """A dark room's window: frame and mullions, a sill, raindrops and runs on the glass."""
    h, w, rng, pal, px = ctx.h, ctx.w, ctx.rng, ctx.pal, ctx.px
    # The glass is cold and a little misted: the scene behind is dimmed and tinted.
    layers.mid.paint(d.mix(pal.shadow, pal.mid, 0.3), np.full((h, w), 0.12, F32))
    wall = d.mix(pal.deep, (0.0, 0.0, 0.0), 0.5)
    left = (0.08 + 0.06 * rng.random()) * w
    right = w - (0.08 + 0.06 * rng.random()) * w
    top, sill = 0.07 * h, (0.8 + 0.05 * rng.random()) * h
    rows = np.arange(h, dtype=F32)[:, None]
    cols = np.arange(w, dtype=F32)[None, :]
    frame = ((cols < left) | (cols > right) | (rows < top) | (rows > sill)).astype(F32)
    bar = max(3.0, 9 * px)
    mx = left + (right - left) * (0.5 if rng.random() < 0.5 else 0.38)
    my = top + (sill - top) * 0.42
    frame = np.maximum(frame, (np.abs(cols - mx) < bar).astype(F32))
    frame = np.maximum(frame, (np.abs(rows - my) < bar * 0.8).astype(F32))
    # Drops: small bright beads with a dark core; a few runs streaking down.
    n = int(160 * w * h / (1280 * 720))
    xs, ys = rng.random(n) * w, rng.random(n) * sill
    r = (1.0 + rng.random(n) ** 3 * 5) * px
    beads = d.dots(h, w, xs, ys, r, rng.random(n) * 0.6 + 0.4)
    runs_n = 14
    rx = rng.random(runs_n) * w
    ry = rng.random(runs_n) * sill * 0.7
    segs = np.stack(
        [rx, ry, rx + rng.normal(0, 4, runs_n) * px, ry + (40 + 120 * rng.random(runs_n)) * px], 1
    )
    runs = d.lines(h, w, segs.astype(F32), np.full(runs_n, 0.6, F32), max(1, int(2 * px)))
    glass = np.clip(beads + runs, 0, 1) * (1 - frame)
    layers.fg.paint(d.mix(pal.light, pal.accent, 0.2), glass * 0.55)
    # The room: frame edges catch the city's light on the inner side.
    rim = np.clip(d.glow(1 - frame, 2 * px) - (1 - frame), 0, 1) * frame
    layers.fg.paint(wall, frame)
    layers.fg.paint(pal.accent, np.clip(rim * 3, 0, 1) * 0.5)
    return layers


def porthole(ctx: Ctx, layers: Layers) -> Layers:
    """A round port in a dark hull with bolts and a lit rim."""
    h, w, rng, pal, px = ctx.h, ctx.w, ctx.rng, ctx.pal, ctx.px
    cx = (0.5 + 0.08 * (rng.random() - 0.5)) * w
    cy = 0.5 * h
    r = (0.4 + 0.05 * rng.random()) * h
    dist = d.radial(h, w, cx / w, cy / h) * h
    hull = np.clip(dist - r, 0, 1)
    ring = np.clip(1 - np.abs(dist - r - 12 * px) / (12 * px), 0, 1)
    layers.fg.paint(d.mix(pal.deep, (0, 0, 0), 0.4), hull)
    layers.fg.paint(d.mix(pal.shadow, pal.mid, 0.35), ring)
    lit = np.clip(1 - np.abs(dist - r) / (2.5 * px), 0, 1)
    layers.fg.paint(d.mix(pal.accent, pal.light, 0.4), lit * 0.8)
    ang = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    bolts = d.dots(
        h,
        w,
        cx + np.cos(ang) * (r + 12 * px),
        cy + np.sin(ang) * (r + 12 * px),
        np.full(12, 3.5 * px),
        np.ones(12),
    )
    layers.fg.paint(d.mix(pal.light, pal.deep, 0.5), bolts)
    # Reflection on the glass: a soft diagonal sheen.
    xs, ys = d.coords(h, w)
    sheen = np.exp(-((((xs - ys) * h - (cx - cy) + 0.25 * r) / (0.12 * r)) ** 2)) * (dist < r)
    layers.fg.paint(pal.light, (sheen * 0.12).astype(F32))
    return layers
