"""Character images: the rules an uploaded one must pass, and its figure cut out.

One place for both sides: the gateway checks an upload with these rules (so what it accepts the
seeder can compose) and the seeder cuts the figure out with the same code.

Validation reads only the header before decoding, so a decompression bomb (a tiny file that
claims a gigantic size) is rejected without allocating its pixels. The cut-out uses the alpha
channel when the image has one, otherwise it removes a uniform background by flood-filling from
the border (the colour of the frame's edge), which is how studio and sticker-style shots look.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from services.common import contract
from services.common.errors import InvalidInput

ALLOWED_FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "WEBP": "WebP", "MPO": "JPEG"}
# Decoded characters are kept at most this tall/wide: they never show bigger on screen.
WORK_SIDE = 1600
MIN_SIDE = contract.MIN_CHARACTER_SIDE


@dataclass(frozen=True)
class CharacterLimits:
    max_bytes: int = contract.MAX_CHARACTER_BYTES
    max_pixels: int = contract.MAX_CHARACTER_PIXELS
    max_side: int = contract.MAX_CHARACTER_SIDE


def decode_image(data: bytes, label: str, limits: CharacterLimits) -> Image.Image:
    """Decode an uploaded image or raise InvalidInput saying exactly what is wrong.

    `label` names the image in messages ("character image 'uploads/p/character_0.png'")."""
    if not data:
        raise InvalidInput(f"{label} is empty")
    if len(data) > limits.max_bytes:
        raise InvalidInput(
            f"{label} is {len(data) / 2**20:.1f} MiB, "
            f"more than the {limits.max_bytes / 2**20:.0f} MiB limit"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidInput(
            f"{label} declares more pixels than the limit of "
            f"{limits.max_pixels / 1e6:.0f} megapixels (decompression-bomb guard): {exc}"
        ) from exc
    except (UnidentifiedImageError, OSError) as exc:
        # Pillow's message names the file it read (a temporary path): not for the client.
        raise InvalidInput(
            f"{label} could not be decoded as an image: not a readable PNG, JPEG or WebP file"
        ) from exc
    fmt = img.format or "unknown"
    if fmt not in ALLOWED_FORMATS:
        raise InvalidInput(f"{label} is {fmt}; only PNG, JPEG and WebP are accepted")
    w, h = img.size
    # Checked from the header, before any pixel is decoded: this is the decompression-bomb guard.
    if w * h > limits.max_pixels or max(w, h) > limits.max_side:
        raise InvalidInput(
            f"{label} is {w}x{h} pixels, more than the limit of "
            f"{limits.max_pixels / 1e6:.0f} megapixels (longest side {limits.max_side})"
        )
    if min(w, h) < MIN_SIDE:
        raise InvalidInput(f"{label} is {w}x{h}; at least {MIN_SIDE} px a side")
    try:
        img.seek(0)
        img.load()
    except Exception as exc:  # noqa: BLE001 - any decoder failure means the same thing to a user
        raise InvalidInput(
            f"{label} could not be decoded as an image ({fmt}, {w}x{h}): {exc}"
        ) from exc
    return ImageOps.exif_transpose(img)


def cutout_mask(rgba: np.ndarray) -> tuple[np.ndarray, bool]:
    """Figure mask (uint8 0..255) and whether it came from the image's own alpha channel."""
    alpha = rgba[..., 3]
    if float((alpha < 250).mean()) > 0.005:
        return alpha.copy(), True
    h, w = alpha.shape
    rgb = np.ascontiguousarray(rgba[..., :3])
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    b = max(2, min(h, w) // 100)
    border = np.concatenate(
        [
            lab[:b].reshape(-1, 3),
            lab[-b:].reshape(-1, 3),
            lab[:, :b].reshape(-1, 3),
            lab[:, -b:].reshape(-1, 3),
        ]
    )
    bg = np.median(border, axis=0)
    border_dist = np.linalg.norm(border - bg, axis=1)
    if float(np.percentile(border_dist, 75)) > 25.0:
        # The edge is not one colour (a photo with scenery): keep the whole picture as a card.
        return np.full((h, w), 255, np.uint8), False
    thr = max(14.0, float(np.percentile(border_dist, 98)) * 1.8)
    dist = np.linalg.norm(lab - bg, axis=2)
    near_bg = (dist < thr).astype(np.uint8)
    # Background = bg-coloured regions connected to the border (keeps same-colour holes inside).
    count, labels = cv2.connectedComponents(near_bg, connectivity=4)
    edge_labels = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    # Label 0 marks the non-background-coloured pixels: never background.
    background = np.isin(labels, edge_labels[edge_labels != 0])
    fg: np.ndarray = (~background).astype(np.uint8) * 255
    fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    # Keep the figure, drop specks: components smaller than 2% of the largest one.
    n, lab_cc, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    if n > 1:
        areas = stats[1:, cv2.CC_STAT_AREA]
        keep = np.flatnonzero(areas >= 0.02 * areas.max()) + 1
        fg = np.isin(lab_cc, keep).astype(np.uint8) * 255
    # Soft edge: a one-pixel feather hides the staircase of a hard mask.
    return cv2.GaussianBlur(fg, (0, 0), 0.8), False


def figure_rgba(
    data: bytes, label: str, limits: CharacterLimits | None = None
) -> tuple[np.ndarray, bool]:
    """The figure of a character image, cropped (RGBA, alpha = cut-out mask), and whether the
    mask came from the image's own alpha; InvalidInput when there is no figure to compose."""
    img = decode_image(data, label, limits or CharacterLimits())
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        # Pillow clips 16/32-bit grey to white when converting; scale it to 8 bits first.
        grey = np.asarray(img, dtype=np.float64)
        peak = 65535.0 if img.mode.startswith("I;16") else max(float(grey.max()), 1.0)
        img = Image.fromarray(np.clip(grey * (255.0 / peak), 0, 255).astype(np.uint8), "L")
    rgba = np.asarray(img.convert("RGBA"))
    h, w = rgba.shape[:2]
    if max(h, w) > WORK_SIDE:
        k = WORK_SIDE / max(h, w)
        rgba = cv2.resize(
            rgba, (max(1, round(w * k)), max(1, round(h * k))), interpolation=cv2.INTER_AREA
        )
    mask, had_alpha = cutout_mask(rgba)
    if int((mask > 127).sum()) < 0.01 * mask.size:
        raise InvalidInput(f"{label} has no visible figure (fully transparent or one flat colour)")
    ys, xs = np.nonzero(mask > 8)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    out = rgba[y0:y1, x0:x1].copy()
    out[..., 3] = mask[y0:y1, x0:x1]
    return out, had_alpha
