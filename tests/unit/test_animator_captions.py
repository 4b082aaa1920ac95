"""Lyric captions: shown on exactly the frames of their line, readable, inside the safe area."""

from __future__ import annotations

import numpy as np
import pytest

from services.animator.captions import SAFE_MARGIN, CaptionTrack, font_size_for, layout_caption
from services.animator.planes import Planes, planes_to_rgb


def _canvas(w: int, h: int, luma: int = 16) -> Planes:
    chroma = np.full((h // 2, w // 2), 128, np.uint8)
    return Planes(np.full((h, w), luma, np.uint8), chroma, chroma.copy())


def test_caption_is_visible_exactly_during_its_line() -> None:
    fps = 30
    track = CaptionTrack([(1.0, 2.5, "hello world"), (3.0, 4.0, "second line")], 320, 180)
    shown = [k for k in range(150) if track.draw(_canvas(320, 180), k / fps)]
    assert shown[0] == 30 and 74 in shown and 75 not in shown  # [1.0, 2.5)
    assert 90 in shown and 119 in shown and 120 not in shown  # [3.0, 4.0)
    assert track.active(0.99) == -1 and track.active(1.0) == 0


@pytest.mark.parametrize(("w", "h"), [(1280, 720), (720, 1280), (1080, 1080), (480, 270)])
def test_caption_fits_the_safe_area_and_is_outlined(w: int, h: int) -> None:
    text = "a rather long lyric line that certainly will not fit on one line of a portrait video"
    canvas = _canvas(w, h, 235)  # white: the outline must still show the text
    assert CaptionTrack([(0.0, 1.0, text)], w, h).draw(canvas, 0.5)
    img = planes_to_rgb(canvas)
    changed = np.argwhere(canvas.y != 235)
    (y0, x0), (y1, x1) = changed.min(axis=0), changed.max(axis=0)
    assert x0 >= w * SAFE_MARGIN - 1 and x1 <= w * (1 - SAFE_MARGIN) + 1
    assert y1 <= h * (1 - SAFE_MARGIN) and y0 > h * 0.4  # lower part of the frame
    assert np.any(np.all(img[y0 : y1 + 1, x0 : x1 + 1] < 40, axis=2))  # dark outline pixels
    patch = layout_caption(text, w, h)
    assert patch is not None and patch.alpha.shape[0] >= font_size_for(w, h) * 0.9 * 1.2


def test_empty_lines_are_ignored() -> None:
    track = CaptionTrack([(0.0, 1.0, "   "), (2.0, 1.0, "reversed")], 320, 180)
    assert not track.draw(_canvas(320, 180), 0.5)
