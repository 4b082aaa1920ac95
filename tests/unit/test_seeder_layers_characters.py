"""Parallax layers and character placement/consistency in rendered keyframes."""

from __future__ import annotations

import numpy as np
import pytest

from services.seeder.characters import character_height, load_character, scale_character
from services.seeder.scene import Sprite, render_scene
from tests.support.pictures import person_png, scene


def composite(layers: list[np.ndarray]) -> np.ndarray:
    out = layers[0][..., :3].astype(np.float32)
    for layer in layers[1:]:
        a = layer[..., 3:4].astype(np.float32) / 255.0
        out = out * (1 - a) + layer[..., :3].astype(np.float32) * a
    return out


def render(role: str, w: int = 480, h: int = 270, chars: list[Sprite] | None = None, seed: int = 3):  # type: ignore[no-untyped-def]
    return render_scene(
        scene("ocean sunset", w, h, seed, role=role, intensity=0.6, characters=chars or [])
    )


def sprites(w: int, h: int) -> list[Sprite]:
    char = load_character(person_png(), "c.png")
    return [Sprite(scale_character(char, character_height(h, w, [char])))]


def bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1


def test_layers_composite_back_to_the_keyframe() -> None:
    out = render("climax")
    assert len(out.layers) == 3
    bg, mid, fg = out.layers
    assert bg.shape[2] == 3  # background is opaque: stored without an alpha channel
    assert 0.05 < (mid[..., 3] > 0).mean() < 1.0  # the sea covers the lower part only
    flat = out.image.astype(np.float32)
    comp = composite(out.layers)
    # Bloom and vignette are baked into the layers; only the film grain separates them.
    assert np.abs(flat - comp).mean() < 4.0
    assert np.abs(flat.mean() - comp.mean()) < 1.0


def test_character_layer_is_last_and_silhouette_is_identical_across_keyframes() -> None:
    w, h = 480, 270
    sp = sprites(w, h)
    masks, xs = {}, {}
    for role in ("intro", "build", "climax", "bridge", "resolution"):
        out = render(role, w, h, sp, seed=len(role))
        assert len(out.layers) == 4
        alpha = out.layers[3][..., 3] > 127
        y0, y1, x0, x1 = bbox(alpha)
        masks[role] = alpha[y0:y1, x0:x1]
        xs[role] = (x0 + x1) / 2 / w
    shapes = {m.shape for m in masks.values()}
    assert len(shapes) == 1, shapes  # same scale everywhere
    ref = masks["climax"]
    for role, m in masks.items():
        iou = (m & ref).sum() / (m | ref).sum()
        assert iou > 0.98, (role, iou)
    # Position follows the role: intro left, build right, climax centred.
    assert xs["intro"] < 0.4 < 0.6 < xs["build"]
    assert 0.4 < xs["climax"] < 0.6


def test_character_stays_recognisable_in_the_flattened_image() -> None:
    w, h = 480, 270
    with_char = render("climax", w, h, sprites(w, h)).image.astype(np.float32)
    without = render("climax", w, h).image.astype(np.float32)
    diff = np.abs(with_char - without).mean(axis=2) > 30
    y0, y1, x0, x1 = bbox(diff)
    # Standing on the ground, about 62% of the frame tall, centred.
    assert y1 >= h * 0.95 and 0.5 * h < (y1 - y0) < 0.7 * h
    assert 0.35 * w < (x0 + x1) / 2 < 0.65 * w


@pytest.mark.parametrize(("w", "h"), [(270, 480), (320, 320), (640, 360)])
def test_character_fits_every_aspect(w: int, h: int) -> None:
    out = render("peak", w, h, sprites(w, h))
    alpha = out.layers[3][..., 3] > 127
    y0, y1, x0, x1 = bbox(alpha)
    assert x0 > 0 and x1 < w  # never cut at the sides
    assert (y1 - y0) <= 0.63 * h
