"""The seeder's picture summaries: dominant palette and the contact sheet (all keyframes of a
video in one grid). Encoding, decoding and fitting are `services.common.images`."""

from __future__ import annotations

import math
from collections.abc import Sequence

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
    images: Sequence[np.ndarray | None],
    labels: list[str],
    thumb_width: int = 384,
    columns: int | None = None,
) -> np.ndarray:
    """A grid of thumbnails with a caption under each (lines split on "\n"), on a dark
    background (RGB uint8). A None image is an empty tile (a shot not drawn yet)."""
    if not images:
        raise ValueError("no images for a contact sheet")
    cols = columns or min(4, max(1, math.ceil(math.sqrt(len(images)))))
    rows = math.ceil(len(images) / cols)
    first = next((img for img in images if img is not None), None)
    h0, w0 = first.shape[:2] if first is not None else (9, 16)
    tw = thumb_width
    th = max(1, round(h0 * tw / w0))
    lines = max(len(label.split("\n")) for label in labels)
    pad, line_h = 8, 18
    cap = 8 + line_h * lines
    max_chars = max(8, tw // 8)
    sheet = np.full((rows * (th + cap + pad) + pad, cols * (tw + pad) + pad, 3), 18, np.uint8)
    for i, (img, label) in enumerate(zip(images, labels, strict=True)):
        r, c = divmod(i, cols)
        y, x = pad + r * (th + cap + pad), pad + c * (tw + pad)
        if img is None:
            sheet[y : y + th, x : x + tw] = 40
        else:
            thumb = cv2.resize(
                img[..., :3],
                (tw, max(1, round(img.shape[0] * tw / img.shape[1]))),
                interpolation=cv2.INTER_AREA,
            )
            sheet[y : y + th, x : x + tw] = cover_fit(thumb, tw, th)
        for k, text in enumerate(label.split("\n")):
            cv2.putText(
                sheet,
                text if len(text) <= max_chars else text[: max_chars - 3] + "...",
                (x + 2, y + th + line_h * (k + 1)),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.45,
                (235, 235, 235) if k == 0 else (170, 170, 170),
                1,
                cv2.LINE_AA,
            )
    return sheet
