"""Frames as BT.709 limited-range YUV 4:2:0 planes, the encoder's own format.

Rendering directly in YUV (luma at full resolution, chroma at half) means each warp moves half
the samples an RGB warp would, and no per-frame RGB->YUV conversion is needed: the keyframes are
converted once. All pixel work is OpenCV on uint8 planes.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# BT.709 RGB (0..255) -> Y'CbCr, limited range (Y 16..235, C 16..240).
_KR, _KB = 0.2126, 0.0722
_KG = 1.0 - _KR - _KB
_RGB2YUV = np.array(
    [
        [219 * _KR / 255, 219 * _KG / 255, 219 * _KB / 255],
        [
            -224 * 0.5 * _KR / (1 - _KB) / 255,
            -224 * 0.5 * _KG / (1 - _KB) / 255,
            224 * 0.5 / 255,
        ],
        [
            224 * 0.5 / 255,
            -224 * 0.5 * _KG / (1 - _KR) / 255,
            -224 * 0.5 * _KB / (1 - _KR) / 255,
        ],
    ],
    dtype=np.float32,
)
_OFFSET = np.array([16.0, 128.0, 128.0], dtype=np.float32)
_YUV2RGB = np.linalg.inv(_RGB2YUV.astype(np.float64)).astype(np.float32)

Y_BLACK, Y_WHITE, C_ZERO = 16.0, 235.0, 128.0


@dataclass
class Planes:
    y: np.ndarray  # (H, W) uint8
    u: np.ndarray  # (H/2, W/2) uint8, Cb
    v: np.ndarray  # (H/2, W/2) uint8, Cr
    # When the planes are views into one I420 buffer (see i420_buffer), that buffer.
    buf: np.ndarray | None = None
    # When the planes are views into an encoder frame's memory (encode.frame_planes), that
    # frame: it goes to the encoder as is, with no copy.
    frame: object | None = None

    @property
    def size(self) -> tuple[int, int]:
        return self.y.shape[1], self.y.shape[0]

    def copy(self) -> Planes:
        return Planes(self.y.copy(), self.u.copy(), self.v.copy())

    def chroma(self) -> tuple[np.ndarray, np.ndarray]:
        return self.u, self.v


def rgb_to_yuv444(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB uint8 -> (H, W, 3) Y Cb Cr uint8, BT.709 limited range."""
    m = np.hstack([_RGB2YUV, _OFFSET[:, None]])
    return cv2.transform(rgb, m)  # saturating uint8 output


def chroma_direction(hex_colour: str, min_chroma: float = 4.0) -> tuple[float, float] | None:
    """The unit (Cb, Cr) direction of an "#rrggbb" colour, (0, 0) for a grey one (chroma under
    `min_chroma` code values: it has no hue to give), None for one that does not parse."""
    try:
        rgb = np.array([int(hex_colour.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4)], np.float32)
    except ValueError:
        return None
    cb, cr = (_RGB2YUV[1:] @ rgb).tolist()
    norm = float(np.hypot(cb, cr))
    return (cb / norm, cr / norm) if norm >= min_chroma else (0.0, 0.0)


def rgb_to_planes(rgb: np.ndarray) -> Planes:
    h, w = rgb.shape[:2]
    if h % 2 or w % 2:
        raise ValueError(f"plane sizes must be even, got {w}x{h}")
    yuv = rgb_to_yuv444(rgb)
    uv = cv2.resize(yuv[..., 1:], (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    u, v = cv2.split(uv)
    return Planes(np.ascontiguousarray(yuv[..., 0]), u, v)


def planes_to_rgb(p: Planes) -> np.ndarray:
    """For previews and tests: upsample chroma and convert back to RGB."""
    w, h = p.size
    uv = cv2.resize(cv2.merge([p.u, p.v]), (w, h), interpolation=cv2.INTER_LINEAR)
    yuv = np.dstack([p.y, uv]).astype(np.float32) - _OFFSET
    rgb = yuv.reshape(-1, 3) @ _YUV2RGB.T
    return np.clip(rgb.reshape(h, w, 3) + 0.5, 0, 255).astype(np.uint8)


def i420_buffer(width: int, height: int) -> tuple[np.ndarray, Planes]:
    """A (H*3/2, W) buffer in the layout PyAV's VideoFrame.from_ndarray expects for yuv420p,
    and Planes that are views into it (render straight into the encoder's layout)."""
    buf = np.empty((height * 3 // 2, width), dtype=np.uint8)
    flat = buf.reshape(-1)
    n, c = width * height, (width // 2) * (height // 2)
    y = flat[:n].reshape(height, width)
    u = flat[n : n + c].reshape(height // 2, width // 2)
    v = flat[n + c : n + 2 * c].reshape(height // 2, width // 2)
    return buf, Planes(y, u, v, buf)


def to_i420(p: Planes) -> np.ndarray:
    if p.buf is not None:
        return p.buf
    w, h = p.size
    buf, view = i420_buffer(w, h)
    view.y[:] = p.y
    view.u[:] = p.u
    view.v[:] = p.v
    return buf


def chroma_matrix(m: np.ndarray) -> np.ndarray:
    """The luma affine (source -> output pixels) expressed on half-resolution chroma planes.

    Chroma sample u sits at luma x = 2u + 0.5, so X = A x + b becomes U = A u + (A.5 + b - .5)/2.
    """
    a = m[:, :2].astype(np.float64)
    b = m[:, 2].astype(np.float64)
    bc = (a @ np.array([0.5, 0.5]) + b - 0.5) / 2.0
    return np.hstack([a, bc[:, None]]).astype(np.float32)


def blend(a: Planes, b: Planes, e: float, dst: Planes | None = None) -> Planes:
    """(1 - e) * a + e * b, into dst when given (which may be a or b)."""
    return Planes(
        cv2.addWeighted(a.y, 1.0 - e, b.y, e, 0.0, dst=None if dst is None else dst.y),
        cv2.addWeighted(a.u, 1.0 - e, b.u, e, 0.0, dst=None if dst is None else dst.u),
        cv2.addWeighted(a.v, 1.0 - e, b.v, e, 0.0, dst=None if dst is None else dst.v),
        None if dst is None else dst.buf,
    )


def over(bg: Planes, fg_premul: Planes, alpha: np.ndarray, alpha_half: np.ndarray) -> Planes:
    """Composite a premultiplied layer over bg, all in uint8: out = fg + bg (255 - a) / 255.

    The same convex combination works for chroma, whose neutral value cancels out.
    """
    inv, inv_h = cv2.bitwise_not(alpha), cv2.bitwise_not(alpha_half)
    s = 1.0 / 255.0
    return Planes(
        cv2.add(fg_premul.y, cv2.multiply(bg.y, inv, scale=s)),
        cv2.add(fg_premul.u, cv2.multiply(bg.u, inv_h, scale=s)),
        cv2.add(fg_premul.v, cv2.multiply(bg.v, inv_h, scale=s)),
    )


def grade(
    p: Planes,
    out: Planes,
    gain: float = 1.0,
    lift: float = 0.0,
    white: float = 0.0,
    fade: float = 1.0,
    saturation: float = 1.0,
    tint: tuple[float, float] = (0.0, 0.0),
) -> None:
    """Write p into out with brightness pulse (gain/lift on luma), colour pulse (saturation),
    colour shift (tint: Cb, Cr offsets), flash to white and fade to black: one saturating
    linear map per plane, Y' = 16 + fade((1-w)(gain (Y-16) + lift) + 219 w),
    C' = 128 + fade (1-w) (sat (C-128) + tint).
    out may be p (in place); an identity grade in place is skipped.
    """
    a_y = fade * (1.0 - white) * gain
    b_y = Y_BLACK + fade * ((1.0 - white) * (lift - Y_BLACK * gain) + (Y_WHITE - Y_BLACK) * white)
    a_c = fade * (1.0 - white) * saturation
    b_c = C_ZERO * (1.0 - a_c)
    k_t = fade * (1.0 - white)
    in_place = p.y is out.y and p.u is out.u and p.v is out.v
    if not (in_place and a_y == 1.0 and b_y == 0.0):
        cv2.convertScaleAbs(p.y, dst=out.y, alpha=a_y, beta=b_y)
    if in_place and a_c == 1.0 and tint == (0.0, 0.0):
        return
    cv2.convertScaleAbs(p.u, dst=out.u, alpha=a_c, beta=b_c + k_t * tint[0])
    cv2.convertScaleAbs(p.v, dst=out.v, alpha=a_c, beta=b_c + k_t * tint[1])
