"""Small, fast drawing primitives on float32 images (RGB 0..1) and premultiplied RGBA layers.

Smooth fields (noise, glows, light rays) are computed at a fraction of the output resolution and
upscaled with OpenCV: they have no fine detail to lose, and it keeps a 720p keyframe well under
the time budget. Hard edges (silhouettes, lines) are drawn at full resolution, anti-aliased.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from services.seeder.palette import RGB

F32 = np.float32


def smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def resize(img: np.ndarray, w: int, h: int, cubic: bool = False) -> np.ndarray:
    if img.shape[1] == w and img.shape[0] == h:
        return img
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_CUBIC if cubic else cv2.INTER_LINEAR)


def fractal_noise(
    rng: np.random.Generator,
    h: int,
    w: int,
    scale: float = 3.0,
    octaves: int = 5,
    persistence: float = 0.55,
    stretch: tuple[float, float] = (1.0, 1.0),
    work: int = 4,
) -> np.ndarray:
    """Value noise summed over octaves (HxW, 0..1); stretch=(sy, sx) > 1 adds detail on an axis."""
    wh, ww = max(8, h // work), max(8, w // work)
    aspect = w / h
    total = np.zeros((wh, ww), F32)
    amp, norm = 1.0, 0.0
    for o in range(octaves):
        gy = max(2, int(round(scale * (2**o) * stretch[0])))
        gx = max(2, int(round(scale * (2**o) * aspect * stretch[1])))
        gy, gx = min(gy, wh), min(gx, ww)
        grid = rng.random((gy, gx), dtype=F32)
        total += amp * cv2.resize(grid, (ww, wh), interpolation=cv2.INTER_CUBIC)
        norm += amp
        amp *= persistence
    total /= norm
    lo, hi = float(total.min()), float(total.max())
    total = (total - lo) / max(hi - lo, 1e-6)
    return resize(total, w, h)


def noise_1d(rng: np.random.Generator, n: int, scale: float = 4.0, octaves: int = 4) -> np.ndarray:
    """Smooth 1-D noise of length n in -1..1 (ridge lines, dune crests, aurora curtains)."""
    out = np.zeros(n, F32)
    amp, norm = 1.0, 0.0
    xs = np.linspace(0, 1, n, dtype=F32)
    for o in range(octaves):
        k = max(2, int(scale * 2**o))
        pts = rng.uniform(-1, 1, k + 1).astype(F32)
        out += amp * np.interp(xs, np.linspace(0, 1, k + 1), pts).astype(F32)
        norm += amp
        amp *= 0.5
    smooth = cv2.GaussianBlur(out.reshape(1, -1), (0, 0), sigmaX=max(1.0, n / (scale * 20)))
    return (smooth.ravel() / norm).astype(F32)


def vgrad(h: int, w: int, stops: Sequence[tuple[float, RGB]]) -> np.ndarray:
    """Vertical gradient through (position 0..1, colour) stops -> HxWx3."""
    ys = np.linspace(0.0, 1.0, h, dtype=F32)
    pos = np.array([p for p, _ in stops], F32)
    cols = np.array([c for _, c in stops], F32)
    col = np.stack([np.interp(ys, pos, cols[:, c]) for c in range(3)], axis=1).astype(F32)
    return np.ascontiguousarray(np.broadcast_to(col[:, None, :], (h, w, 3)))


def coords(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates normalised by height: x in 0..w/h, y in 0..1."""
    ys = (np.arange(h, dtype=F32) + 0.5) / h
    xs = (np.arange(w, dtype=F32) + 0.5) / h
    return xs[None, :], ys[:, None]


def radial(h: int, w: int, cx: float, cy: float, work: int = 1) -> np.ndarray:
    """Distance from (cx, cy) (fractions of width/height) in units of image height."""
    hh, ww = max(4, h // work), max(4, w // work)
    xs, ys = coords(hh, ww)
    d = np.sqrt((xs - cx * ww / hh) ** 2 + (ys - cy) ** 2)
    return resize(d.astype(F32), w, h)


def glow(mask: np.ndarray, sigma_px: float) -> np.ndarray:
    """Gaussian blur of a large radius, done at reduced size (blur is scale-invariant enough)."""
    h, w = mask.shape[:2]
    f = max(1, int(sigma_px / 4))
    small = cv2.resize(mask, (max(4, w // f), max(4, h // f)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigmaX=max(0.6, sigma_px / f))
    return resize(small, w, h)


def blend(dst: np.ndarray, color: RGB | np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """dst (HxWx3) with colour painted over at per-pixel alpha (HxW)."""
    a = alpha[..., None]
    return dst * (1.0 - a) + np.asarray(color, F32) * a


def add_light(dst: np.ndarray, color: RGB | np.ndarray, amount: np.ndarray) -> np.ndarray:
    return dst + np.asarray(color, F32) * amount[..., None]


def mix(a: RGB, b: RGB, t: float) -> RGB:
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t)


class Layer:
    """A premultiplied RGBA layer: paints accumulate with the 'over' operator."""

    def __init__(self, h: int, w: int) -> None:
        self.rgb = np.zeros((h, w, 3), F32)
        self.a = np.zeros((h, w), F32)

    def paint(self, color: RGB | np.ndarray, alpha: np.ndarray) -> None:
        alpha = np.clip(alpha, 0.0, 1.0).astype(F32, copy=False)
        if alpha.shape != self.a.shape:
            alpha = np.broadcast_to(alpha, self.a.shape)
        # Only touch the band of rows the mask reaches (skylines, floors, particles in a band).
        rows = np.flatnonzero(alpha.max(axis=1) > 0)
        if rows.size == 0:
            return
        y0, y1 = int(rows[0]), int(rows[-1]) + 1
        col = np.asarray(color, F32)
        if col.ndim == 3:
            col = col[y0:y1]
        alpha = alpha[y0:y1]
        rgb, a = self.rgb[y0:y1], self.a[y0:y1]
        # P' = P (1 - a) + c a  ==  P - a (P - c): one temporary instead of three.
        tmp = rgb - col
        tmp *= alpha[..., None]
        rgb -= tmp
        inv = 1.0 - a
        inv *= alpha
        a += inv

    def paint_region(
        self, y0: int, y1: int, x0: int, x1: int, color: RGB | np.ndarray, alpha: np.ndarray
    ) -> None:
        """Paint only inside a box (cheap for small shapes); alpha and colour are box-sized."""
        alpha = np.clip(alpha, 0.0, 1.0)
        a3 = alpha[..., None]
        rgb = self.rgb[y0:y1, x0:x1]
        rgb *= 1.0 - a3
        rgb += np.asarray(color, F32) * a3
        a = self.a[y0:y1, x0:x1]
        a *= 1.0 - alpha
        a += alpha

    def straight(self) -> np.ndarray:
        """HxWx4 straight-alpha RGBA in 0..1."""
        return unpremultiply(self.rgb, self.a)


def unpremultiply(rgb: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Premultiplied colour + alpha -> HxWx4 straight RGBA in 0..1 (P <= a, so P/a stays sane)."""
    out = np.empty((*a.shape, 4), F32)
    np.multiply(rgb, (1.0 / np.maximum(a, 1e-4))[..., None], out=out[..., :3])
    out[..., 3] = a
    np.clip(out, 0.0, 1.0, out=out)
    return out


def to_u8(img: np.ndarray) -> np.ndarray:
    """0..1 floats -> uint8 with rounding and saturation (OpenCV's saturating convert: one pass,
    ~3x faster than the numpy temporaries on a 720p picture)."""
    if img.dtype != F32:
        img = img.astype(F32)
    return cv2.convertScaleAbs(np.maximum(img, F32(0.0)), alpha=255.0)


def straight_u8(rgb: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Premultiplied colour + alpha (0..1 floats) -> HxWx4 straight RGBA uint8: the same as
    to_u8(unpremultiply(rgb, a)) in one fused pass (a keyframe exports 3-5 such layers)."""
    inv = 255.0 / np.maximum(a, 1e-4)
    colour = cv2.multiply(np.maximum(rgb, F32(0.0)), cv2.merge([inv, inv, inv]))
    return cv2.merge([*cv2.split(cv2.convertScaleAbs(colour)), to_u8(a)])


def aa_poly_mask(h: int, w: int, polys: Sequence[np.ndarray], scale_bits: int = 4) -> np.ndarray:
    """Filled anti-aliased polygons -> HxW float mask (sub-pixel vertex precision)."""
    mask = np.zeros((h, w), np.uint8)
    s = 1 << scale_bits
    # One call per polygon: fillPoly with several contours XORs their overlaps (even-odd rule).
    for p in polys:
        pts = np.round(np.asarray(p, np.float64) * s).astype(np.int32)
        cv2.fillPoly(mask, [pts], 255, lineType=cv2.LINE_AA, shift=scale_bits)
    return mask.astype(F32) / 255.0


def fill_below(h: int, w: int, ys: np.ndarray) -> np.ndarray:
    """Mask of everything below a per-column curve ys (pixels, length w), anti-aliased."""
    rows = np.arange(h, dtype=F32)[:, None] + 0.5
    return np.clip(rows - ys[None, :].astype(F32) + 0.5, 0.0, 1.0)


def dots(
    h: int,
    w: int,
    xs: np.ndarray,
    ys: np.ndarray,
    radii: np.ndarray,
    values: np.ndarray,
) -> np.ndarray:
    """Anti-aliased filled circles with per-dot brightness -> HxW float canvas (max-combined)."""
    canvas = np.zeros((h, w), np.uint8)
    shift = 4
    s = 1 << shift
    for x, y, r, v in zip(xs, ys, radii, values, strict=True):
        cv2.circle(
            canvas,
            (int(x * s), int(y * s)),
            max(1, int(r * s)),
            int(255 * min(max(v, 0.0), 1.0)),
            -1,
            cv2.LINE_AA,
            shift,
        )
    return canvas.astype(F32) / 255.0


def lines(
    h: int,
    w: int,
    segs: np.ndarray,
    values: np.ndarray,
    thickness: np.ndarray | int = 1,
) -> np.ndarray:
    """Anti-aliased line segments (N x 4: x0, y0, x1, y1) with per-line brightness."""
    canvas = np.zeros((h, w), np.uint8)
    shift = 4
    s = 1 << shift
    th = np.broadcast_to(np.asarray(thickness), (len(segs),))
    for (x0, y0, x1, y1), v, t in zip(segs, values, th, strict=True):
        cv2.line(
            canvas,
            (int(x0 * s), int(y0 * s)),
            (int(x1 * s), int(y1 * s)),
            int(255 * min(max(v, 0.0), 1.0)),
            max(1, int(t)),
            cv2.LINE_AA,
            shift,
        )
    return canvas.astype(F32) / 255.0
