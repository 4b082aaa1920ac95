"""The seeder stage without a server: planning, idempotent storage, subsets, overrides, errors."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from lumiere.v1 import concept_pb2, seeder_pb2
from PIL import Image, ImageDraw

from services.common.contract import MAX_CHARACTER_IMAGES, MIN_SIDE
from services.common.errors import InvalidInput
from services.common.images import decode_image
from services.common.storage import LocalStore
from services.seeder.backends import make_backend
from services.seeder.config import SeederSettings
from services.seeder.keyframes import generate_keyframes

ROLES = [
    concept_pb2.MOMENT_ROLE_INTRO,
    concept_pb2.MOMENT_ROLE_BUILD,
    concept_pb2.MOMENT_ROLE_CLIMAX,
    concept_pb2.MOMENT_ROLE_BRIDGE,
    concept_pb2.MOMENT_ROLE_RESOLUTION,
]
INTENSITIES = [0.15, 0.5, 0.95, 0.4, 0.25]


def make_concept(prompt: str = "ocean sunset", n: int = 5) -> concept_pb2.Concept:
    c = concept_pb2.Concept(
        prompt=prompt, mood=concept_pb2.Mood(energy=0.6, brightness=0.5, valence=0.6)
    )
    for i in range(n):
        c.key_moments.add(
            id=f"km{i}",
            time=i * 8.0,
            role=ROLES[i % 5],
            intensity=INTENSITIES[i % 5],
            prompt=prompt,
        )
    return c


def request(**kw: object) -> seeder_pb2.GenerateKeyframesRequest:
    args: dict[str, object] = {
        "project_id": "p1",
        "concept": make_concept(),
        "width": 320,
        "height": 180,
        "seed": 3,
    }
    args.update(kw)
    return seeder_pb2.GenerateKeyframesRequest(**args)  # type: ignore[arg-type]


def run(
    req: seeder_pb2.GenerateKeyframesRequest, store: LocalStore, cfg: SeederSettings | None = None
):  # type: ignore[no-untyped-def]
    cfg = cfg or SeederSettings()
    events: list[tuple[int, int, str]] = []
    res = generate_keyframes(
        req, store, cfg, make_backend(cfg), lambda d, t, m: events.append((d, t, m))
    )
    return res, events


def test_keyframes_are_stored_in_order_with_metadata_and_layers(store: LocalStore) -> None:
    res, events = run(request(), store)
    assert [k.key_moment_id for k in res.keyframes] == [f"km{i}" for i in range(5)]
    for i, kf in enumerate(res.keyframes):
        assert kf.image.key.startswith(f"outputs/p1/seeds/seed_{i}_")
        assert kf.image.key.endswith(".png") and kf.image.content_type == "image/png"
        assert kf.backend == "procedural" and len(kf.palette) == 5
        assert kf.time == i * 8.0 and kf.prompt == "ocean sunset"
        img = decode_image(store.get_bytes(kf.image.key))
        assert img.shape == (180, 320, 3)
        # The opaque background is stored as RGB, the layers over it with their alpha.
        assert [decode_image(store.get_bytes(x.key)).shape for x in kf.layers] == [
            (180, 320, 3),
            (180, 320, 4),
            (180, 320, 4),
        ]
        assert store.exists(kf.image.key.replace(".png", ".json"))
    assert len({k.seed for k in res.keyframes}) == 5
    assert store.exists(res.contact_sheet.key)
    # Progress: one event per image, ending at total.
    per_image = [e for e in events if e[2].startswith("keyframe ")]
    assert [d for d, _, _ in per_image] == [1, 2, 3, 4, 5] and per_image[-1][1] == 5


def test_same_inputs_same_keys_and_bytes_across_stores(tmp_path: Path) -> None:
    a, _ = run(request(), LocalStore(tmp_path / "a"))
    b, _ = run(request(), LocalStore(tmp_path / "b"))
    assert [k.image.key for k in a.keyframes] == [k.image.key for k in b.keyframes]
    assert [k.image.sha256 for k in a.keyframes] == [k.image.sha256 for k in b.keyframes]
    assert [x.sha256 for k in a.keyframes for x in k.layers] == [
        x.sha256 for k in b.keyframes for x in k.layers
    ]
    # A different seed changes keys and pixels.
    c, _ = run(request(seed=4), LocalStore(tmp_path / "c"))
    assert all(x.image.key != y.image.key for x, y in zip(a.keyframes, c.keyframes, strict=True))
    assert all(
        x.image.sha256 != y.image.sha256 for x, y in zip(a.keyframes, c.keyframes, strict=True)
    )


def test_rerun_reuses_stored_keyframes(store: LocalStore) -> None:
    first, _ = run(request(), store)
    again, _ = run(request(), store)
    assert [k.SerializeToString() for k in first.keyframes] == [
        k.SerializeToString() for k in again.keyframes
    ]


def test_keyframes_of_one_video_differ(store: LocalStore) -> None:
    res, _ = run(request(), store)
    imgs = [decode_image(store.get_bytes(k.image.key)).astype(np.float32) for k in res.keyframes]
    for i in range(len(imgs)):
        for j in range(i + 1, len(imgs)):
            assert np.abs(imgs[i] - imgs[j]).mean() > 5.0, (i, j)


def test_subset_and_prompt_override(store: LocalStore) -> None:
    full, _ = run(request(), store)
    res, _ = run(
        request(key_moment_ids=["km3", "km1"], prompt_overrides={"km3": "fire and embers"}), store
    )
    assert [k.key_moment_id for k in res.keyframes] == ["km1", "km3"]
    assert res.keyframes[0].image.key == full.keyframes[1].image.key  # index kept: seed_1_...
    assert res.keyframes[1].prompt == "fire and embers"
    assert res.keyframes[1].image.key != full.keyframes[3].image.key
    fire = decode_image(store.get_bytes(res.keyframes[1].image.key)).astype(float)
    assert fire[..., 0].mean() > fire[..., 2].mean()


def test_style_is_added_and_defaults_to_720p(store: LocalStore) -> None:
    res, _ = run(request(width=0, height=0, style="retro", key_moment_ids=["km0"]), store)
    assert res.keyframes[0].prompt == "ocean sunset, retro"
    assert decode_image(store.get_bytes(res.keyframes[0].image.key)).shape == (720, 1280, 3)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"key_moment_ids": ["nope"]}, "unknown key_moment_ids"),
        ({"prompt_overrides": {"zz": "x"}}, "prompt_overrides name unknown"),
        ({"concept": concept_pb2.Concept(prompt="x")}, "no key moments"),
        ({"width": 10000}, "out of range"),
        ({"project_id": "../etc"}, "project_id"),
        ({"character_images": [{"key": "uploads/p1/character_0.png"}]}, "not in the store"),
    ],
)
def test_bad_requests_are_rejected(store: LocalStore, kw: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        run(request(**kw), store)


def _character_png() -> bytes:
    img = Image.new("RGB", (120, 240), (250, 250, 250))
    draw = ImageDraw.Draw(img)
    draw.ellipse((40, 10, 80, 50), fill=(30, 30, 160))
    draw.polygon([(60, 55), (100, 230), (20, 230)], fill=(30, 30, 160))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def test_bad_character_image_is_rejected(store: LocalStore) -> None:
    ref = store.put_bytes("uploads/p1/character_0.png", b"GIF89a not really", "image/png")
    with pytest.raises(InvalidInput, match="character image 'uploads/p1/character_0.png'"):
        run(request(character_images=[ref]), store)


def test_more_character_images_than_the_contract_allows_are_rejected(store: LocalStore) -> None:
    refs = [
        store.put_bytes(f"uploads/p1/character_{i}.png", _character_png(), "image/png")
        for i in range(MAX_CHARACTER_IMAGES + 1)
    ]
    with pytest.raises(InvalidInput, match=f"at most {MAX_CHARACTER_IMAGES}"):
        run(request(character_images=refs), store)


def test_smallest_contract_size_renders(store: LocalStore) -> None:
    res, _ = run(request(width=MIN_SIDE, height=MIN_SIDE, key_moment_ids=["km0"]), store)
    assert decode_image(store.get_bytes(res.keyframes[0].image.key)).shape == (
        MIN_SIDE,
        MIN_SIDE,
        3,
    )


def test_character_is_composited_into_every_keyframe(store: LocalStore) -> None:
    ref = store.put_bytes("uploads/p1/character_0.png", _character_png(), "image/png")
    with_char, _ = run(request(character_images=[ref]), store)
    without, _ = run(request(), store)
    for a, b in zip(with_char.keyframes, without.keyframes, strict=True):
        assert a.image.key != b.image.key
        assert len(a.layers) == 4  # background, mid, foreground, character
        char_layer = decode_image(store.get_bytes(a.layers[3].key))
        assert (char_layer[..., 3] > 127).mean() > 0.02


class RecordingBackend:
    """An img2img-capable stand-in that records what the stage asks of an AI backend."""

    name = "fake"
    accepts_init_image = True

    def __init__(self) -> None:
        from services.seeder.backends import ImageRequest

        self.requests: list[ImageRequest] = []

    def identity(self) -> str:
        return "fake-1"

    def generate(self, request):  # type: ignore[no-untyped-def]
        from services.seeder.backends import GeneratedImage

        self.requests.append(request)
        img = np.full((request.height, request.width, 3), 90, np.uint8)
        return GeneratedImage(image=img, palette=["#5a5a5a"] * 5, characters_included=True)


def test_http_style_backends_get_music_words_and_a_composed_init_image(store: LocalStore) -> None:
    ref = store.put_bytes("uploads/p1/character_0.png", _character_png(), "image/png")
    backend = RecordingBackend()
    cfg = SeederSettings()
    res = generate_keyframes(
        request(character_images=[ref], key_moment_ids=["km0", "km2"]),
        store,
        cfg,
        backend,  # type: ignore[arg-type]
        lambda *_: None,
    )
    assert len(backend.requests) == 2
    by_prompt = sorted(backend.requests, key=lambda r: r.prompt)
    climax = next(r for r in by_prompt if "intense" in r.prompt)
    intro = next(r for r in by_prompt if "calm" in r.prompt)
    assert climax.prompt.startswith("ocean sunset, ") and "very energetic" in climax.prompt
    assert "gentle" in intro.prompt
    for req in backend.requests:
        init = decode_image(req.init_image or b"")
        assert init.shape == (180, 320, 3)  # the procedural composition, characters included
    # The keyframe keeps the user's prompt; the backend prompt is in the metadata.
    assert [k.prompt for k in res.keyframes] == ["ocean sunset", "ocean sunset"]
    assert all(k.backend == "fake" and not k.layers for k in res.keyframes)


def test_layers_can_be_switched_off(store: LocalStore) -> None:
    res, _ = run(request(key_moment_ids=["km1"]), store, SeederSettings(layers=False))
    assert not res.keyframes[0].layers
    with_layers, _ = run(request(key_moment_ids=["km1"]), store)
    # Different outputs, different keys: the layer setting is part of the input hash.
    assert with_layers.keyframes[0].image.key != res.keyframes[0].image.key
    assert len(with_layers.keyframes[0].layers) == 3
