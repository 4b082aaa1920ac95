"""The director's plan on analysed synthesized songs: cuts, tiling, pacing, repeats, subject."""

from __future__ import annotations

import numpy as np
import pytest
from lumiere.v1 import concept_pb2
from lumiere.v1 import storyboard_pb2 as sb

from services.common.scene_vocabulary import LOOKS
from services.concept.analysis import analyse
from services.concept.shot_pacing import MAX_SHOT_S, MIN_SHOT_S
from services.concept.storyboard import plan_storyboard
from services.devstack.synth import SongSpec, demo_spec, pop_form, synth_song

PROMPT = "neon city at night, rain, a lone dancer"


@pytest.fixture(scope="module")
def demo() -> concept_pb2.Concept:
    x, _ = synth_song(demo_spec())
    return analyse(x, prompt=PROMPT, seed=3)


@pytest.fixture(scope="module")
def repeats() -> concept_pb2.Concept:
    """Verse and chorus twice: the analysis groups the repeats."""
    spec = SongSpec(
        "repeats",
        120.0,
        pop_form(),
        seed=11,
    )
    x, _ = synth_song(spec)
    return analyse(x, prompt=PROMPT)


def _cuts(board: sb.Storyboard) -> np.ndarray:
    return np.array([s.start_time for s in board.shots[1:]])


def _rate(board: sb.Storyboard, concept: concept_pb2.Concept, role: int) -> float:
    """Shots per second over the sections with `role`."""
    idx = [k for k, s in enumerate(concept.sections) if s.role == role]
    shots = sum(1 for s in board.shots if s.section_index in idx)
    seconds = sum(concept.sections[k].end - concept.sections[k].start for k in idx)
    return shots / seconds


def test_analysis_returns_the_storyboard(demo: concept_pb2.Concept) -> None:
    board = demo.storyboard
    assert board.source == "director"
    assert board.cut_grid == "downbeats"
    assert board.scene_family == "city"
    assert len(board.shots) >= 10
    assert [s.index for s in board.shots] == list(range(len(board.shots)))
    assert len({s.id for s in board.shots}) == len(board.shots)


def test_shots_tile_the_song(demo: concept_pb2.Concept) -> None:
    shots = demo.storyboard.shots
    assert shots[0].start_time == 0.0
    assert shots[-1].end_time == demo.duration_seconds
    for a, b in zip(shots, shots[1:], strict=False):
        assert a.end_time == b.start_time
        assert a.end_time > a.start_time


def test_cuts_land_on_downbeats_and_quick_cuts_on_beats(demo: concept_pb2.Concept) -> None:
    downbeats = np.array(demo.downbeat_times)
    beats = np.array([b.time for b in demo.beats])
    for shot in demo.storyboard.shots[1:]:
        grid = beats if shot.quick else downbeats
        assert np.min(np.abs(grid - shot.start_time)) < 1e-3, shot.id


def test_every_section_boundary_is_a_cut(demo: concept_pb2.Concept) -> None:
    cuts = _cuts(demo.storyboard)
    downbeats = np.array(demo.downbeat_times)
    for section in demo.sections[1:]:
        on_grid = downbeats[np.argmin(np.abs(downbeats - section.start))]
        assert np.min(np.abs(cuts - on_grid)) < 1e-3, section.label
    # ...and a shot belongs to one section: the section changes only at those cuts.
    for a, b in zip(demo.storyboard.shots, demo.storyboard.shots[1:], strict=False):
        if a.section_index != b.section_index:
            assert b.section_index == a.section_index + 1


def test_no_long_or_tiny_shots_with_a_confident_beat(demo: concept_pb2.Concept) -> None:
    assert demo.tempo_confidence >= 0.5
    for shot in demo.storyboard.shots:
        length = shot.end_time - shot.start_time
        assert length <= MAX_SHOT_S
        assert shot.quick or length >= MIN_SHOT_S


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_choruses_cut_faster_than_verses(demo: concept_pb2.Concept, seed: int) -> None:
    board = plan_storyboard(demo, seed=seed)
    chorus = _rate(board, demo, concept_pb2.SECTION_ROLE_CHORUS)
    verse = _rate(board, demo, concept_pb2.SECTION_ROLE_VERSE)
    assert chorus >= 1.3 * verse


def test_quick_cuts_lead_into_the_louder_section(demo: concept_pb2.Concept) -> None:
    shots = demo.storyboard.shots
    chorus = next(
        k for k, s in enumerate(demo.sections) if s.role == concept_pb2.SECTION_ROLE_CHORUS
    )
    first = next(i for i, s in enumerate(shots) if s.section_index == chorus)
    assert shots[first - 1].quick
    assert shots[first].entry == sb.SHOT_ENTRY_FLASH_CUT


def test_sections_open_wide_and_the_video_ends_pulling_out(demo: concept_pb2.Concept) -> None:
    shots = demo.storyboard.shots
    openers = [
        s for i, s in enumerate(shots) if i == 0 or s.section_index != shots[i - 1].section_index
    ]
    assert all(s.framing == sb.FRAMING_WIDE for s in openers)
    assert shots[-1].move == sb.CAMERA_MOVE_PULL_OUT


def test_repeat_groups_reuse_looks_and_framing(repeats: concept_pb2.Concept) -> None:
    board = repeats.storyboard
    by_section: dict[int, list[sb.Shot]] = {}
    for shot in board.shots:
        by_section.setdefault(shot.section_index, []).append(shot)
    groups: dict[int, list[int]] = {}
    for k, s in enumerate(repeats.sections):
        groups.setdefault(s.repeat_group, []).append(k)
    repeated = [ks for ks in groups.values() if len(ks) > 1]
    assert repeated, "the analysis found no repeats"
    for ks in repeated:
        first = by_section[ks[0]]
        for k in ks[1:]:
            again = by_section[k]
            n = min(len(first), len(again))
            assert [s.look for s in again] == [first[0].look] * len(again)
            assert [s.framing for s in again[:n]] == [s.framing for s in first[:n]]
            assert [s.subject for s in again[:n]] == [s.subject for s in first[:n]]
    looks = {s.repeat_group: by_section[k][0].look for k, s in enumerate(repeats.sections)}
    assert len(set(looks.values())) == len(looks)  # contrasting sections look different


def test_the_loudest_group_is_vivid_and_the_calm_ones_muted(
    repeats: concept_pb2.Concept,
) -> None:
    """The chorus glows in full colour; the verses and the intro take muted looks."""
    looks = {s.section_index: s.look for s in repeats.storyboard.shots}
    energy: dict[int, list[float]] = {}
    for s in repeats.sections:
        energy.setdefault(s.repeat_group, []).append(s.energy)
    loudest = max(energy, key=lambda g: float(np.mean(energy[g])))
    for k, s in enumerate(repeats.sections):
        vivid = LOOKS[looks[k]].vivid
        assert vivid == (s.repeat_group == loudest), (s.label, LOOKS[looks[k]].name)


def test_repeated_chorus_is_cut_like_the_first(repeats: concept_pb2.Concept) -> None:
    board = repeats.storyboard
    chorus = [
        k for k, s in enumerate(repeats.sections) if s.role == concept_pb2.SECTION_ROLE_CHORUS
    ]
    assert len(chorus) == 2

    def pattern(k: int) -> list[float]:
        return [round(s.end_time - s.start_time, 1) for s in board.shots if s.section_index == k]

    assert pattern(chorus[0]) == pattern(chorus[1])


def test_subject_on_screen_in_at_least_40_percent(repeats: concept_pb2.Concept) -> None:
    board = repeats.storyboard
    assert board.subject == "dancer"
    share = np.mean([s.subject for s in board.shots])
    assert share >= 0.4
    chorus = [
        k for k, s in enumerate(repeats.sections) if s.role == concept_pb2.SECTION_ROLE_CHORUS
    ]
    in_chorus = [s.subject for s in board.shots if s.section_index in chorus]
    assert np.mean(in_chorus) >= share  # more in the choruses
    for shot in board.shots:
        if shot.framing == sb.FRAMING_SUBJECT:
            assert shot.subject
        if shot.subject:
            assert "the dancer" in shot.prompt


def test_no_subject_without_a_figure(repeats: concept_pb2.Concept) -> None:
    concept = concept_pb2.Concept()
    concept.CopyFrom(repeats)
    concept.prompt = "neon city at night, rain"
    board = plan_storyboard(concept)
    assert board.subject == ""
    assert not any(s.subject for s in board.shots)
    assert not any(s.framing == sb.FRAMING_SUBJECT for s in board.shots)


def test_character_images_are_the_subject(repeats: concept_pb2.Concept) -> None:
    concept = concept_pb2.Concept()
    concept.CopyFrom(repeats)
    concept.prompt = "ocean sunset"
    board = plan_storyboard(concept, has_characters=True)
    assert board.subject == "characters"
    assert np.mean([s.subject for s in board.shots]) >= 0.4
    assert board.scene_family == "water"


def test_prompts_build_on_the_user_prompt(demo: concept_pb2.Concept) -> None:
    for shot in demo.storyboard.shots:
        assert shot.prompt.startswith(PROMPT + ", ")
        assert shot.viewpoint
    assert len({s.viewpoint for s in demo.storyboard.shots}) >= 5


def test_key_moment_at_or_before_the_shot(demo: concept_pb2.Concept) -> None:
    moments = {m.id: m.time for m in demo.key_moments}
    times = sorted(moments.values())
    for shot in demo.storyboard.shots:
        t = moments[shot.key_moment_id]
        assert t <= shot.start_time + 1e-3
        assert not any(t < u <= shot.start_time + 1e-3 for u in times)  # the latest one


def test_bars_follow_the_downbeat_grid(demo: concept_pb2.Concept) -> None:
    downbeats = np.array(demo.downbeat_times)
    for shot in demo.storyboard.shots:
        assert 0 <= shot.start_bar < shot.end_bar <= len(downbeats)
        if not shot.quick and shot.index > 0:
            assert downbeats[shot.start_bar] == pytest.approx(shot.start_time, abs=1e-3)


def test_same_seed_same_plan_other_seed_other_plan(demo: concept_pb2.Concept) -> None:
    a = plan_storyboard(demo, seed=5)
    assert plan_storyboard(demo, seed=5) == a
    b = plan_storyboard(demo, seed=6)
    assert [s.seed for s in a.shots] != [s.seed for s in b.shots]
    assert [(s.viewpoint, s.framing, s.move) for s in a.shots] != [
        (s.viewpoint, s.framing, s.move) for s in b.shots
    ]
