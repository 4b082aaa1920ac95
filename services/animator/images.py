"""Keyframe images: decode, normalise to RGB(A) uint8, cover-fit to the render canvas."""

from __future__ import annotations

import cv2
import numpy as np

from services.common.errors import InvalidInput


def decode_image(data: bytes, what: str) -> np.ndarray:
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


def aspect_of(data: bytes) -> float | None:
    """Width/height of an encoded image without keeping the pixels."""
    arr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_REDUCED_GRAYSCALE_8)
    if arr is None or arr.size == 0:
        return None
    return arr.shape[1] / arr.shape[0]


def cover_fit(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale and centre-crop so the image covers width x height exactly (no bars)."""
    h, w = img.shape[:2]
    scale = max(width / w, height / h)
    new_w, new_h = max(width, round(w * scale)), max(height, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    resized = cv2.resize(img, (new_w, new_h), interpolation=interp)
    x0, y0 = (new_w - width) // 2, (new_h - height) // 2
    return np.ascontiguousarray(resized[y0 : y0 + height, x0 : x0 + width])
