"""Character images: safe validation with specific errors, cut-out, consistent placement."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from services.common.errors import InvalidInput
from services.seeder.characters import CharacterLimits, load_character


def figure(
    bg: tuple[int, int, int] = (255, 255, 255), fmt: str = "PNG", alpha: bool = False
) -> bytes:
    """A simple 'person': a head and a body on a uniform background (or transparent)."""
    w, h = 200, 300
    mode = "RGBA" if alpha else "RGB"
    fill = (*bg, 0) if alpha else bg
    img = Image.new(mode, (w, h), fill)
    from PIL import ImageDraw

    draw = ImageDraw.Draw(img)
    ink = (200, 40, 60, 255) if alpha else (200, 40, 60)
    draw.ellipse((70, 20, 130, 80), fill=ink)
    draw.rectangle((60, 90, 140, 280), fill=ink)
    buf = io.BytesIO()
    img.save(buf, fmt, quality=95) if fmt == "JPEG" else img.save(buf, fmt)
    return buf.getvalue()


def bomb_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels."""
    small = io.BytesIO()
    Image.new("L", (16, 16)).save(small, "PNG")
    data = bytearray(small.getvalue())
    ihdr = data.index(b"IHDR")
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr : ihdr + 17]))
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", crc)
    return bytes(data)


def test_uniform_background_is_cut_out() -> None:
    char = load_character(figure(), "c.png")
    assert not char.had_alpha
    mask = char.mask > 127
    # Cropped to the figure: 81 x 261 px (body 60..140 wide, head top 20 .. body bottom 280).
    assert abs(char.rgba.shape[0] - 261) <= 3 and abs(char.rgba.shape[1] - 81) <= 3
    # The corners beside the head are background, the body centre is figure.
    assert not mask[2, 2] and mask[150, 40]
    assert 0.6 < mask.mean() < 0.9


def test_alpha_channel_is_used_when_present() -> None:
    char = load_character(figure(alpha=True), "c.png")
    assert char.had_alpha
    assert char.rgba.shape[0] == 261


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_jpeg_and_webp_are_accepted(fmt: str) -> None:
    char = load_character(figure(bg=(20, 120, 40), fmt=fmt), f"c.{fmt.lower()}")
    assert 0.6 < (char.mask > 127).mean() < 0.9


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "is empty"),
        (b"definitely not an image" * 10, "not a readable PNG, JPEG or WebP"),
        (figure(fmt="GIF"), "only PNG, JPEG and WebP"),
        (bomb_png(40000, 40000), "than the limit of 17 megapixels"),
        (bomb_png(5000, 5000), "5000x5000 pixels, more than the limit"),
        (figure()[:300], "could not be decoded"),
    ],
    ids=["empty", "garbage", "gif", "bomb", "too-many-pixels", "truncated"],
)
def test_bad_images_are_rejected_with_a_specific_message(data: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        load_character(data, "uploads/p/character_0.png")


def test_size_limit_in_bytes() -> None:
    with pytest.raises(InvalidInput, match="MiB limit"):
        load_character(figure(), "c.png", CharacterLimits(max_bytes=100))


def test_flat_image_has_no_figure() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 200, 30)).save(buf, "PNG")
    with pytest.raises(InvalidInput, match="no visible figure"):
        load_character(buf.getvalue(), "c.png")
    assert np.asarray(Image.open(io.BytesIO(buf.getvalue()))).shape == (64, 64, 3)
