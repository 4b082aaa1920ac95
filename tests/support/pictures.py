"""Pictures for the seeder's tests and benchmarks: a scene spec in one call, a character image."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image, ImageDraw

from services.seeder.scene import SceneSpec


def scene(prompt: str, width: int = 320, height: int = 180, seed: int = 1, **kw: Any) -> SceneSpec:
    """A keyframe's scene whose video shares its prompt (`seed` is the RNG seed)."""
    return SceneSpec(
        prompt=prompt, width=width, height=height, seed=seed, video_prompt=prompt, **kw
    )


def person_png() -> bytes:
    """A standing figure (head, body, arm, legs) on a near-white background, as users upload."""
    img = Image.new("RGB", (200, 400), (250, 250, 250))
    d = ImageDraw.Draw(img)
    d.ellipse((70, 10, 130, 70), fill=(220, 170, 140))
    d.rectangle((60, 75, 140, 250), fill=(190, 30, 60))
    d.rectangle((30, 80, 58, 220), fill=(190, 30, 60))
    d.rectangle((65, 250, 95, 390), fill=(20, 30, 80))
    d.rectangle((105, 250, 135, 390), fill=(20, 30, 80))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def character_png(
    size: tuple[int, int] = (64, 48),
    fmt: str = "PNG",
    figure: bool = True,
    color: tuple[int, int, int] = (10, 200, 30),
) -> bytes:
    """A character picture: a figure (a block) on a plain background, or only the background
    (`figure=False`, which the seeder cannot cut anything out of)."""
    img = Image.new("RGB", size, color)
    if figure:
        w, h = size
        ImageDraw.Draw(img).rectangle((w // 4, h // 4, 3 * w // 4, 3 * h // 4), (200, 40, 90))
    out = io.BytesIO()
    img.save(out, format=fmt)
    return out.getvalue()
