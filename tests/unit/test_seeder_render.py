"""The procedural engine: deterministic, honours size/aspect, follows the prompt and the music."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from services.common.images import encode_png
from services.seeder.palette import build_palette
from services.seeder.scene import render_scene
from services.seeder.vocabulary import FAMILIES, VOCABULARY, interpret
from tests.support.pictures import scene as spec


def hue_hist(img: np.ndarray) -> np.ndarray:
    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1], None, [18, 4], [0, 180, 0, 256]).ravel()
    return hist / hist.sum()


def hist_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Bhattacharyya distance between H-S histograms: 0 same colours .. 1 disjoint."""
    return float(cv2.compareHist(hue_hist(a), hue_hist(b), cv2.HISTCMP_BHATTACHARYYA))


def test_same_spec_gives_byte_identical_png_including_layers() -> None:
    a = render_scene(spec("neon city at night", 1280, 720, seed=5, role="climax", intensity=0.9))
    b = render_scene(spec("neon city at night", 1280, 720, seed=5, role="climax", intensity=0.9))
    assert encode_png(a.image) == encode_png(b.image)
    assert [encode_png(x) for x in a.layers] == [encode_png(x) for x in b.layers]


def test_different_seed_gives_a_visibly_different_variation() -> None:
    a = render_scene(spec("ocean sunset", seed=1)).image.astype(np.float32)
    b = render_scene(spec("ocean sunset", seed=2)).image.astype(np.float32)
    assert np.abs(a - b).mean() > 4.0


@pytest.mark.parametrize(
    ("w", "h"), [(320, 180), (180, 320), (256, 256), (1920, 1080), (1080, 1920)]
)
def test_size_and_aspect_are_honoured(w: int, h: int) -> None:
    out = render_scene(spec("forest mist", w, h))
    assert out.image.shape == (h, w, 3)
    assert [layer.shape for layer in out.layers] == [(h, w, 3), (h, w, 4), (h, w, 4)]
    # The picture is not blank at any aspect.
    assert out.image.std() > 10


def test_different_prompts_give_different_colours() -> None:
    prompts = ["fire", "ocean", "forest", "neon city at night", "desert", "space nebula"]
    imgs = {p: render_scene(spec(p)).image for p in prompts}
    for i, p in enumerate(prompts):
        for q in prompts[i + 1 :]:
            assert hist_distance(imgs[p], imgs[q]) > 0.2, (p, q)
    # Fire is warm, ocean is cool.
    fire, ocean = imgs["fire"].astype(float), imgs["ocean"].astype(float)
    assert fire[..., 0].mean() > fire[..., 2].mean()
    assert ocean[..., 2].mean() > ocean[..., 0].mean()


def test_unknown_prompts_get_their_own_palette_not_a_grey_default() -> None:
    a = build_palette(interpret("quantum teapot ballet"))
    b = build_palette(interpret("velociraptor accountant"))
    assert a.as_hex() != b.as_hex()
    for pal in (a, b):
        r, g, bl = pal.accent
        assert max(r, g, bl) - min(r, g, bl) > 0.2  # saturated, not grey


def test_vocabulary_is_large_and_maps_to_every_family() -> None:
    assert len(VOCABULARY) >= 40
    covered = {fam for term in VOCABULARY.values() for fam, _ in term.motifs}
    assert covered == set(FAMILIES)
    assert interpret("neon city at night").terms == ["neon city at night"]
    assert interpret("Crashing WAVES").motifs.get("water", 0) > 0


def test_intensity_and_role_follow_the_music() -> None:
    calm = render_scene(spec("space nebula", role="intro", intensity=0.1, mood_energy=0.2))
    loud = render_scene(spec("space nebula", role="climax", intensity=0.95, mood_energy=0.9))
    hsv_c = cv2.cvtColor(calm.image, cv2.COLOR_RGB2HSV).astype(float)
    hsv_l = cv2.cvtColor(loud.image, cv2.COLOR_RGB2HSV).astype(float)
    assert hsv_l[..., 1].mean() > hsv_c[..., 1].mean()  # more saturated
    assert hsv_l[..., 2].std() > hsv_c[..., 2].std()  # more contrast
    assert hsv_l[..., 2].mean() > hsv_c[..., 2].mean()  # brighter


def test_mood_descriptors_tint_the_picture() -> None:
    base = dict(prompt="ocean", width=320, height=180, seed=4, role="build", intensity=0.5)
    dark = render_scene(spec(**base, mood_words="dark melancholy"))  # type: ignore[arg-type]
    happy = render_scene(spec(**base, mood_words="happy euphoric"))  # type: ignore[arg-type]
    assert happy.image.mean() > dark.image.mean() + 5


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_renders_tiny_and_odd_sizes_without_numeric_trouble(family: str) -> None:
    prompt = {"water": "ocean", "aurora": "aurora", "underwater": "underwater"}.get(family, family)
    everything = " rain snow fog embers bokeh sparkle dust lightning"
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        for w, h in [(64, 64), (65, 97), (300, 64)]:
            out = render_scene(spec(prompt + everything, w, h, role="climax", intensity=1.0))
            assert out.family == family
            assert out.image.shape == (h, w, 3)
            assert [layer.shape for layer in out.layers] == [(h, w, 3)] + [(h, w, 4)] * 2


def _mirror_correlation(img: np.ndarray, shore: int, rows: int = 20) -> float:
    luma = img.astype(np.float32).mean(axis=2)
    below = luma[shore + 2 : shore + 2 + rows]
    above = luma[shore - 3 - rows : shore - 3][::-1]
    return float(np.corrcoef(below.ravel(), above.ravel())[0, 1])


def test_water_with_a_city_mirrors_the_skyline() -> None:
    kw = dict(width=640, height=360, seed=5, role="climax", intensity=0.6)
    river = render_scene(spec("neon city by the river", **kw))  # type: ignore[arg-type]
    street = render_scene(spec("neon city street", **kw))  # type: ignore[arg-type]
    # The climax horizon sits at 55% of the height, jittered by up to 9 px per seed.
    candidates = range(round(0.55 * 360) - 10, round(0.55 * 360) + 11)
    mirrored = max(_mirror_correlation(river.image, s) for s in candidates)
    plain = max(_mirror_correlation(street.image, s) for s in candidates)
    assert mirrored > 0.35  # ripples, fading and bokeh keep it well below 1
    assert plain < mirrored - 0.2


def test_sizes_above_the_render_limit_are_rendered_smaller_and_upscaled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import services.seeder.scene as scene

    monkeypatch.setattr(scene, "MAX_RENDER_SIDE", 200)
    big = render_scene(spec("fire", 400, 226, seed=9))
    assert big.image.shape == (226, 400, 3)
    assert [layer.shape for layer in big.layers] == [(226, 400, 3)] + [(226, 400, 4)] * 2
    small = render_scene(spec("fire", 200, 113, seed=9)).image
    up = cv2.resize(small, (400, 226), interpolation=cv2.INTER_CUBIC)
    assert np.abs(big.image.astype(float) - up.astype(float)).mean() < 1.0
