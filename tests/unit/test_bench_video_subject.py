"""The video benchmark's character detector on frames with and without the uploaded cut-out."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

from bench.video_subject import subject_visible
from tests.support.pictures import person_png


def night(w: int = 320, h: int = 180) -> Image.Image:
    """A dark city-like frame: navy sky, magenta grid lines, lit windows."""
    img = Image.new("RGB", (w, h), (10, 12, 40))
    d = ImageDraw.Draw(img)
    for x in range(0, w, 24):
        d.rectangle((x, 60, x + 16, h), fill=(25, 25, 45))
        for y in range(70, h, 12):
            d.rectangle((x + 4, y, x + 7, y + 3), fill=(240, 220, 120))
    for y in range(120, h, 10):
        d.line((0, y, w, y), fill=(200, 40, 160), width=1)
    return img


def with_person(
    img: Image.Image, height: int, at: tuple[int, int], tint: float = 1.0
) -> np.ndarray:
    person = Image.open(io.BytesIO(person_png())).convert("RGB")
    person = person.resize((height // 2, height))
    arr = np.asarray(person).astype(np.float32)
    mask = Image.fromarray((arr.min(axis=2) < 235).astype(np.uint8) * 255)
    person = Image.fromarray(np.clip(arr * tint, 0, 255).astype(np.uint8))
    out = img.copy()
    out.paste(person, at, mask)
    return np.asarray(out)


def test_the_cut_out_is_seen_large_or_small() -> None:
    assert subject_visible(with_person(night(), 150, (100, 20)))
    assert subject_visible(with_person(night(), 60, (250, 110)))


def test_a_darker_grade_still_shows_it() -> None:
    assert subject_visible(with_person(night(), 120, (40, 40), tint=0.7))


def test_the_scenery_alone_is_not_the_subject() -> None:
    assert not subject_visible(np.asarray(night()))


def test_a_red_sign_over_a_navy_sky_is_not_the_subject() -> None:
    img = night()
    ImageDraw.Draw(img).rectangle((120, 10, 200, 40), fill=(200, 30, 60))  # wide, not a figure
    assert not subject_visible(np.asarray(img))


def test_a_setting_sun_behind_buildings_is_not_the_subject() -> None:
    img = night()
    d = ImageDraw.Draw(img)
    d.ellipse((200, 10, 260, 70), fill=(240, 120, 100))  # salmon, as in a sunset look
    d.rectangle((190, 40, 270, 180), fill=(20, 25, 90))  # navy buildings in front of it
    assert not subject_visible(np.asarray(img))


def close_up(img: Image.Image, head: bool = True) -> np.ndarray:
    """The cut-out framed from the chest up: a wide crimson block cut by the frame's bottom
    edge, the head (when drawn) right above it."""
    d = ImageDraw.Draw(img)
    d.rectangle((110, 80, 210, 180), fill=(190, 30, 60))
    if head:
        d.ellipse((130, 30, 190, 90), fill=(220, 170, 140))
    d.line((0, 130, 320, 110), fill=(230, 40, 200), width=2)  # a laser across the body
    return np.asarray(img)


def test_a_close_up_without_legs_shows_it() -> None:
    assert subject_visible(close_up(night()))


def test_a_red_block_at_the_bottom_without_a_head_is_not_the_subject() -> None:
    assert not subject_visible(close_up(night(), head=False))
