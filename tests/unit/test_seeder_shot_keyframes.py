"""The seeder with a storyboard, without a server: one keyframe per shot, drawn as planned."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lumiere.v1 import concept_pb2, seeder_pb2

from services.common.errors import InvalidInput
from services.common.images import decode_image
from services.common.storage import LocalStore
from services.seeder.backends import make_backend
from services.seeder.config import SeederSettings
from services.seeder.keyframes import generate_keyframes
from tests.support.storyboards import storyboard_concept

W, H = 320, 180


def request(concept: concept_pb2.Concept, **kw: object) -> seeder_pb2.GenerateKeyframesRequest:
    args: dict[str, object] = {"project_id": "p1", "concept": concept, "width": W, "height": H}
    args.update({"seed": 3, **kw})
    return seeder_pb2.GenerateKeyframesRequest(**args)  # type: ignore[arg-type]


def run(
    req: seeder_pb2.GenerateKeyframesRequest, store: LocalStore, **settings: object
) -> tuple[seeder_pb2.GenerateKeyframesResult, list[str]]:
    cfg = SeederSettings(**settings)  # type: ignore[arg-type]
    messages: list[str] = []
    res = generate_keyframes(req, store, cfg, make_backend(cfg), lambda d, t, m: messages.append(m))
    return res, messages


def meta(store: LocalStore, kf: seeder_pb2.Keyframe) -> dict:
    return json.loads(store.get_bytes(kf.image.key.removesuffix(".png") + ".json"))


@pytest.fixture(scope="module")
def concept() -> concept_pb2.Concept:
    return storyboard_concept(n_shots=10)


def test_one_keyframe_per_shot_opens_its_shot(store: LocalStore, concept) -> None:  # type: ignore[no-untyped-def]
    res, messages = run(request(concept), store)
    shots = list(concept.storyboard.shots)
    assert [k.shot_id for k in res.keyframes] == [s.id for s in shots]
    assert [k.time for k in res.keyframes] == [s.start_time for s in shots]
    assert [k.key_moment_id for k in res.keyframes] == [s.key_moment_id for s in shots]
    for kf, shot in zip(res.keyframes, shots, strict=True):
        assert kf.image.key.startswith(f"outputs/p1/seeds/shot_{shot.id}_")
        assert kf.backend == "procedural" and len(kf.palette) == 5
        assert kf.prompt == shot.prompt
        assert decode_image(store.get_bytes(kf.image.key)).shape == (H, W, 3)
        assert len(kf.layers) == len(kf.layer_names)
        assert kf.layer_names[:3] == ["background", "mid", "foreground"]
    assert sum(m.startswith("shot ") for m in messages) == len(shots)  # progress per shot


def test_subject_shots_have_the_subject_and_its_poses_as_layers(store: LocalStore, concept) -> None:  # type: ignore[no-untyped-def]
    res, _ = run(request(concept), store)
    by_id = {s.id: s for s in concept.storyboard.shots}
    assert any(s.subject for s in by_id.values()) and not all(s.subject for s in by_id.values())
    for kf in res.keyframes:
        if by_id[kf.shot_id].subject:
            assert kf.layer_names[3:] == ["character", "character_pose1", "character_pose2"]
            poses = [decode_image(store.get_bytes(r.key)) for r in kf.layers[3:]]
            assert all(p.shape == (H, W, 4) and (p[..., 3] > 64).mean() > 0.005 for p in poses)
            assert not (poses[0] == poses[1]).all()  # another pose, not a copy
            assert meta(store, kf)["info"]["subject"] == "dancer"
        else:
            assert kf.layer_names == ["background", "mid", "foreground"]


def test_pose_layers_can_be_turned_off(store: LocalStore, concept) -> None:  # type: ignore[no-untyped-def]
    res, _ = run(request(concept), store, pose_layers=0)
    assert max(len(kf.layer_names) for kf in res.keyframes) == 4


def test_the_storyboards_scene_family_is_drawn(store: LocalStore) -> None:
    # The prompt alone would be drawn as a city; the plan says desert, with desert viewpoints.
    concept = storyboard_concept(n_shots=4, family="desert")
    res, _ = run(request(concept), store)
    for kf, shot in zip(res.keyframes, concept.storyboard.shots, strict=True):
        info = meta(store, kf)["info"]
        assert info["family"] == "desert"
        assert info["viewpoint"] == shot.viewpoint


def test_shot_ids_draw_only_those_shots(store: LocalStore, concept) -> None:  # type: ignore[no-untyped-def]
    res, _ = run(request(concept, shot_ids=["shot-007", "shot-002"]), store)
    assert [k.shot_id for k in res.keyframes] == ["shot-002", "shot-007"]  # timeline order
    assert len(list(Path(store.root).rglob("shot_*.json"))) == 2  # one metadata file per shot


def test_unknown_shot_ids_are_named(store: LocalStore, concept) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput, match=r"shot-999.*shot-998|shot-998.*shot-999"):
        run(request(concept, shot_ids=["shot-001", "shot-999", "shot-998"]), store)


def test_shot_ids_without_a_storyboard_are_refused(store: LocalStore) -> None:
    concept = storyboard_concept(n_shots=2)
    concept.ClearField("storyboard")
    with pytest.raises(InvalidInput, match="no storyboard"):
        run(request(concept, shot_ids=["shot-001"]), store)


def test_shots_are_deterministic_across_stores_and_worker_counts(
    tmp_path: Path,
    concept,  # type: ignore[no-untyped-def]
) -> None:
    a, _ = run(request(concept), LocalStore(tmp_path / "a"))
    b, _ = run(request(concept), LocalStore(tmp_path / "b"), workers=1)
    store_a, store_b = LocalStore(tmp_path / "a"), LocalStore(tmp_path / "b")
    for ka, kb in zip(a.keyframes, b.keyframes, strict=True):
        assert ka.image.key == kb.image.key
        for ra, rb in zip([ka.image, *ka.layers], [kb.image, *kb.layers], strict=True):
            assert store_a.get_bytes(ra.key) == store_b.get_bytes(rb.key)


def test_a_moved_cut_reuses_the_picture_and_a_new_prompt_redraws(store: LocalStore) -> None:
    concept = storyboard_concept(n_shots=3)
    first, _ = run(request(concept), store)
    concept.storyboard.shots[1].start_time += 0.5
    concept.storyboard.shots[2].prompt += ", snow"
    second, messages = run(request(concept), store)
    assert "drawing 1 of 3 shots with procedural" in messages
    assert second.keyframes[1].image.key == first.keyframes[1].image.key
    assert second.keyframes[1].time == concept.storyboard.shots[1].start_time
    assert second.keyframes[2].image.key != first.keyframes[2].image.key


def test_contact_sheet_is_the_storyboard_strip(store: LocalStore, concept) -> None:  # type: ignore[no-untyped-def]
    res, _ = run(request(concept), store)
    sheet = decode_image(store.get_bytes(res.contact_sheet.key))
    # 10 shots: 8 columns of 240 px thumbnails (8 px gaps), 2 rows of 135 px + two caption lines.
    assert sheet.shape == (2 * (135 + 44 + 8) + 8, 8 * 248 + 8, 3)


def test_partial_redraw_sheet_still_shows_every_shot(store: LocalStore, concept) -> None:  # type: ignore[no-untyped-def]
    full, _ = run(request(concept), store)
    part, _ = run(request(concept, shot_ids=["shot-003"]), store)
    assert part.contact_sheet.key == full.contact_sheet.key
