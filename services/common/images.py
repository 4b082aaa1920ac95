"""Image codec shared by the stages that read and write keyframes (seeder, animator).

Pixels are RGB or RGBA uint8 arrays (height x width x channels); PNG is the storage format.
"""

from __future__ import annotations

import cv2
import numpy as np

from services.common.errors import InvalidInput


def encode_png(img: np.ndarray, compression: int = 1) -> bytes:
    """RGB(A) uint8 -> PNG bytes; same pixels -> same bytes (no timestamps, fixed zlib level)."""
    if img.ndim == 3 and img.shape[2] == 4:
        bgr = cv2.cvtColor(img, cv2.COLOR_RGBA2BGRA)
    elif img.ndim == 3:
        bgr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    else:
        bgr = img
    # The SUB filter with RLE is ~2x faster than libpng's default adaptive filtering for the
    # same size on these smooth, grainy pictures (measured: 30 ms vs 68 ms per 720p image+layer).
    params = [cv2.IMWRITE_PNG_COMPRESSION, int(compression)]
    if compression <= 3:
        params += [
            cv2.IMWRITE_PNG_STRATEGY,
            cv2.IMWRITE_PNG_STRATEGY_RLE,
            cv2.IMWRITE_PNG_FILTER,
            cv2.IMWRITE_PNG_FILTER_SUB,
        ]
    ok, buf = cv2.imencode(".png", bgr, params)
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()


def decode_image(data: bytes, what: str = "image") -> np.ndarray:
    """Decode PNG/JPEG/WebP bytes to RGB or RGBA uint8 (alpha kept when present)."""
    decoded = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if decoded is None or decoded.size == 0:
        raise InvalidInput(f"{what} could not be decoded as an image")
    arr = np.asarray(decoded)
    if arr.dtype == np.uint16:
        arr = (arr // 257).astype(np.uint8)
    elif arr.dtype != np.uint8:
        lo, hi = float(arr.min()), float(arr.max())
        arr = ((arr - lo) * (255.0 / max(hi - lo, 1e-9))).astype(np.uint8)
    if arr.ndim == 2:
        return cv2.cvtColor(arr, cv2.COLOR_GRAY2RGB)
    if arr.shape[2] == 4:
        return cv2.cvtColor(arr, cv2.COLOR_BGRA2RGBA)
    return cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)


def cover_fit(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale and centre-crop so the image covers width x height exactly (no bars)."""
    h, w = img.shape[:2]
    if (w, h) == (width, height):
        return img
    scale = max(width / w, height / h)
    new_w, new_h = max(width, round(w * scale)), max(height, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    resized = cv2.resize(img, (new_w, new_h), interpolation=interp)
    x0, y0 = (new_w - width) // 2, (new_h - height) // 2
    return np.ascontiguousarray(resized[y0 : y0 + height, x0 : x0 + width])
