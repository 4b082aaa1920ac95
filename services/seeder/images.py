"""The seeder's picture summaries: dominant palette and the contact sheet (all keyframes of a
video in one grid). Encoding, decoding and fitting are `services.common.images`."""

from __future__ import annotations

import math

import cv2
import numpy as np

from services.common.images import cover_fit


def dominant_palette(img: np.ndarray, k: int = 5) -> list[str]:
    """k dominant colours (dark to light) of an image, for backends that return only pixels.

    Median cut is deterministic and keeps no global state (unlike OpenCV's k-means RNG),
    so it is safe in the parallel workers.
    """
    from PIL import Image

    small = cv2.resize(img[..., :3], (96, 54), interpolation=cv2.INTER_AREA)
    quant = Image.fromarray(small).quantize(colors=k, method=Image.Quantize.MEDIANCUT)
    flat = (quant.getpalette() or [])[: 3 * k]
    cols = [tuple(flat[i : i + 3]) for i in range(0, len(flat), 3)]
    cols += [cols[-1] if cols else (0, 0, 0)] * (k - len(cols))
    cols.sort(key=lambda c: 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2])
    return ["#{:02x}{:02x}{:02x}".format(*c) for c in cols]


def contact_sheet(
    images: list[np.ndarray], labels: list[str], thumb_width: int = 384, columns: int | None = None
) -> np.ndarray:
    """A grid of thumbnails with a caption under each, on a dark background (RGB uint8)."""
    if not images:
        raise ValueError("no images for a contact sheet")
    cols = columns or min(4, max(1, math.ceil(math.sqrt(len(images)))))
    rows = math.ceil(len(images) / cols)
    h0, w0 = images[0].shape[:2]
    tw = thumb_width
    th = max(1, round(h0 * tw / w0))
    pad, cap = 8, 26
    sheet = np.full((rows * (th + cap + pad) + pad, cols * (tw + pad) + pad, 3), 18, np.uint8)
    for i, (img, label) in enumerate(zip(images, labels, strict=True)):
        r, c = divmod(i, cols)
        y, x = pad + r * (th + cap + pad), pad + c * (tw + pad)
        thumb = cover_fit(
            cv2.resize(
                img[..., :3],
                (tw, round(img.shape[0] * tw / img.shape[1])),
                interpolation=cv2.INTER_AREA,
            ),
            tw,
            th,
        )
        sheet[y : y + th, x : x + tw] = thumb
        cv2.putText(
            sheet,
            label if len(label) <= 50 else label[:47] + "...",
            (x + 2, y + th + 18),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.45,
            (220, 220, 220),
            1,
            cv2.LINE_AA,
        )
    return sheet
