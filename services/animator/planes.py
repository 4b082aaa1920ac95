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
    uv: np.ndarray  # (H/2, W/2, 2) uint8: Cb, Cr

    @property
    def size(self) -> tuple[int, int]:
        return self.y.shape[1], self.y.shape[0]

    def copy(self) -> Planes:
        return Planes(self.y.copy(), self.uv.copy())


def rgb_to_yuv444(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB uint8 -> (H, W, 3) Y Cb Cr uint8, BT.709 limited range."""
    m = np.hstack([_RGB2YUV, _OFFSET[:, None]])
    return cv2.transform(rgb, m)  # saturating uint8 output


def rgb_to_planes(rgb: np.ndarray) -> Planes:
    h, w = rgb.shape[:2]
    if h % 2 or w % 2:
        raise ValueError(f"plane sizes must be even, got {w}x{h}")
    yuv = rgb_to_yuv444(rgb)
    uv = cv2.resize(yuv[..., 1:], (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    return Planes(np.ascontiguousarray(yuv[..., 0]), uv)


def planes_to_rgb(p: Planes) -> np.ndarray:
    """For previews and tests: upsample chroma and convert back to RGB."""
    w, h = p.size
    uv = cv2.resize(p.uv, (w, h), interpolation=cv2.INTER_LINEAR)
    yuv = np.dstack([p.y, uv]).astype(np.float32) - _OFFSET
    rgb = yuv.reshape(-1, 3) @ _YUV2RGB.T
    return np.clip(rgb.reshape(h, w, 3) + 0.5, 0, 255).astype(np.uint8)


def to_i420(p: Planes) -> np.ndarray:
    """Pack into the (H*3/2, W) layout PyAV's VideoFrame.from_ndarray expects for yuv420p."""
    w, h = p.size
    out = np.empty((h * 3 // 2, w), dtype=np.uint8)
    flat = out.reshape(-1)
    n, c = w * h, (w // 2) * (h // 2)
    flat[:n] = p.y.reshape(-1)
    u, v = cv2.split(p.uv)
    flat[n : n + c] = u.reshape(-1)
    flat[n + c : n + 2 * c] = v.reshape(-1)
    return out


def chroma_matrix(m: np.ndarray) -> np.ndarray:
    """The luma affine (source -> output pixels) expressed on half-resolution chroma planes.

    Chroma sample u sits at luma x = 2u + 0.5, so X = A x + b becomes U = A u + (A.5 + b - .5)/2.
    """
    a = m[:, :2].astype(np.float64)
    b = m[:, 2].astype(np.float64)
    bc = (a @ np.array([0.5, 0.5]) + b - 0.5) / 2.0
    return np.hstack([a, bc[:, None]]).astype(np.float32)


def blend(a: Planes, b: Planes, e: float) -> Planes:
    """(1 - e) * a + e * b."""
    return Planes(
        cv2.addWeighted(a.y, 1.0 - e, b.y, e, 0.0), cv2.addWeighted(a.uv, 1.0 - e, b.uv, e, 0.0)
    )


def grade(
    p: Planes,
    gain: float = 1.0,
    lift: float = 0.0,
    white: float = 0.0,
    fade: float = 1.0,
    saturation: float = 1.0,
) -> Planes:
    """Brightness pulse (gain/lift on luma), colour pulse (saturation), flash to white, fade.

    One saturating linear map per plane: Y' = 16 + fade((1-w)(gain (Y-16) + lift) + 219 w),
    C' = 128 + fade (1-w) sat (C-128).
    """
    if gain == 1.0 and lift == 0.0 and white == 0.0 and fade == 1.0 and saturation == 1.0:
        return p
    a_y = fade * (1.0 - white) * gain
    b_y = Y_BLACK + fade * ((1.0 - white) * (lift - Y_BLACK * gain) + (Y_WHITE - Y_BLACK) * white)
    a_c = fade * (1.0 - white) * saturation
    b_c = C_ZERO * (1.0 - a_c)
    return Planes(
        cv2.convertScaleAbs(p.y, alpha=a_y, beta=b_y),
        cv2.convertScaleAbs(p.uv, alpha=a_c, beta=b_c),
    )
