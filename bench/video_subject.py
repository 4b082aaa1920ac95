"""Is the benchmark's character cut-out on screen? A two-colour template found by colour masks.

The benchmark uploads tests/support/pictures.py person_png: a crimson body (190, 30, 60) with a
navy pair of legs (20, 30, 80) under it. In a frame the figure is scaled, moved and graded by the
shot's look, so the test is loose on brightness and tight on what makes it distinctive: a solid
crimson blob, taller than wide, with a saturated dark-blue region right under it; or, in a
close-up that crops the legs away, a large crimson block cut by the bottom of the frame with a
light, round head right above it. A run without the character measures how often the scenery
alone fools it (the false-positive rate).
"""

from __future__ import annotations

import cv2
import numpy as np

MIN_AREA = 0.003  # share of the frame the red body covers at least
SOLIDITY = 0.45  # ... and of its bounding box (rims, grid lines and text are thin)
LEGS_SHARE = 0.15  # navy pixels under the body, relative to the body's area
CLOSE_AREA = 0.04  # a close-up's body covers at least this share of the frame
HEAD_SHARE = 0.3  # light pixels in the head's place above a close-up's body


def _masks(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(red body, navy legs, light pixels) masks of an RGB frame."""
    hsv = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2HSV)
    h, s, v = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    # Crimson to pure red, deeply saturated: an orange or salmon sun or sign is not the body.
    red = ((h >= 160) | (h <= 3)) & (s >= 150) & (v >= 60)
    navy = (h >= 100) & (h <= 130) & (s >= 90) & (v >= 20) & (v <= 150)
    return red.astype(np.uint8), navy, v >= 140


def _head_above(light: np.ndarray, x: int, y: int, w: int) -> bool:
    """A light region in the head's place: above the body, about half its width, centred."""
    top = max(0, y - int(0.6 * w))
    region = light[top:y, x + w // 4 : x + w - w // 4]
    return region.size > 0 and float(region.mean()) >= HEAD_SHARE


def subject_visible(rgb: np.ndarray) -> bool:
    """True when a tall red blob stands on a navy region of about its width (the cut-out), or a
    large red block reaches the frame's bottom edge under a light head (its close-up)."""
    red, navy, light = _masks(rgb)
    # Thin lines drawn across the body (lasers, rain, glitch bands) must not split it.
    red = cv2.morphologyEx(red, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    area_min = MIN_AREA * red.size
    count, _, stats, _ = cv2.connectedComponentsWithStats(red, connectivity=8)
    height = red.shape[0]
    for i in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[i])
        if area < area_min or area < SOLIDITY * w * h:
            continue
        if y + h >= height - 1 and area >= CLOSE_AREA * red.size and _head_above(light, x, y, w):
            return True
        if h < 1.2 * w:
            continue
        below = navy[y + h // 2 : min(height, y + 2 * h), max(0, x - w // 4) : x + w + w // 4]
        if below.sum() >= LEGS_SHARE * area:
            return True
    return False
