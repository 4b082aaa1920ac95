"""The orchestrator's storyboard rules: checking an edit, what it re-draws, which keyframes a run
draws, and the segment reuse key's view of the shots."""

from __future__ import annotations

import pytest
from lumiere.v1 import animator_pb2, concept_pb2, seeder_pb2, storyboard_pb2

from services.common import contract
from services.common.errors import InvalidInput
from services.orchestrator import hashing, keyframe_plan, storyboards

sb = storyboard_pb2
FPS = 30


@pytest.fixture
def concept() -> concept_pb2.Concept:
    """8 s at 120 BPM in 4/4 (a bar every 2 s), two sections, the director's four shots."""
    c = concept_pb2.Concept(duration_seconds=8.0, downbeat_times=[0.0, 2.0, 4.0, 6.0])
    c.sections.add(start=0.0, end=4.0, label="verse 1")
    c.sections.add(start=4.0, end=8.0, label="chorus 1")
    c.key_moments.add(id="km0", time=0.0)
    c.key_moments.add(id="km1", time=4.0)
    for i, t in enumerate([0.0, 2.0, 4.0, 6.0]):
        c.storyboard.shots.add(
            id=f"shot-{i + 1:03d}",
            index=i,
            start_time=t,
            end_time=t + 2.0,
            framing=sb.FRAMING_WIDE,
            move=sb.CAMERA_MOVE_PUSH_IN,
            entry=sb.SHOT_ENTRY_CUT,
            prompt=f"shot {i}",
        )
    c.storyboard.source = "director"
    return c


def _check(concept: concept_pb2.Concept, board: sb.Storyboard) -> sb.Storyboard:
    return storyboards.checked(board, concept, FPS, 2000, current=concept.storyboard)


def _edited(concept: concept_pb2.Concept) -> sb.Storyboard:
    board = sb.Storyboard()
    board.CopyFrom(concept.storyboard)
    return board


def test_a_checked_edit_is_the_users(concept: concept_pb2.Concept) -> None:
    assert _check(concept, _edited(concept)).source == "user"


def test_a_moved_cut_renumbers_bars_section_and_moment(concept: concept_pb2.Concept) -> None:
    board = _edited(concept)
    board.shots[1].end_time = board.shots[2].start_time = 5.0
    shot = _check(concept, board).shots[2]
    assert (shot.start_bar, shot.end_bar, shot.section_index, shot.key_moment_id) == (
        2,
        3,
        1,
        "km1",
    )


def test_near_boundaries_are_snapped_together(concept: concept_pb2.Concept) -> None:
    board = _edited(concept)
    board.shots[2].start_time = 4.0004
    assert _check(concept, board).shots[2].start_time == 4.0


def test_shots_that_kept_their_times_keep_their_numbers(concept: concept_pb2.Concept) -> None:
    concept.storyboard.shots[0].key_moment_id = "as drawn"
    assert _check(concept, _edited(concept)).shots[0].key_moment_id == "as drawn"


def test_removed_shots_are_renumbered(concept: concept_pb2.Concept) -> None:
    board = _edited(concept)
    board.shots[1].end_time = 6.0
    del board.shots[2]
    assert [s.index for s in _check(concept, board).shots] == [0, 1, 2]


def test_an_unknown_enum_value_is_named(concept: concept_pb2.Concept) -> None:
    board = _edited(concept)
    board.shots[0].framing = 99  # type: ignore[assignment]
    with pytest.raises(InvalidInput, match="unknown framing 99"):
        _check(concept, board)


def test_a_shot_shorter_than_a_frame_is_too_short(concept: concept_pb2.Concept) -> None:
    board = _edited(concept)
    board.shots[0].end_time = board.shots[1].start_time = 0.01
    with pytest.raises(InvalidInput, match="0 frames long at 30 fps"):
        _check(concept, board)


def test_a_plan_not_starting_at_zero_is_a_gap(concept: concept_pb2.Concept) -> None:
    board = _edited(concept)
    board.shots[0].start_time = 0.5
    with pytest.raises(InvalidInput, match="gap before shot 0"):
        _check(concept, board)


def test_an_empty_plan_is_rejected(concept: concept_pb2.Concept) -> None:
    with pytest.raises(InvalidInput, match="no shots"):
        _check(concept, sb.Storyboard())


def test_a_changed_prompt_redraws_that_shot(concept: concept_pb2.Concept) -> None:
    board = _check(concept, _edited(concept))
    board.shots[1].prompt = "a red door"
    assert storyboards.redraws(concept.storyboard, board) == ["shot-002"]


def test_a_changed_move_or_end_redraws_nothing(concept: concept_pb2.Concept) -> None:
    board = _edited(concept)
    board.source = "user"
    board.shots[3].move = sb.CAMERA_MOVE_HANDHELD
    board.shots[0].end_time = board.shots[1].start_time = 2.5
    assert storyboards.redraws(concept.storyboard, board) == ["shot-002"]  # it starts later


def test_a_new_subject_redraws_every_shot(concept: concept_pb2.Concept) -> None:
    board = _edited(concept)
    board.subject = "robot"
    assert len(storyboards.redraws(concept.storyboard, board)) == 4


def _drawn(ids: list[str]) -> seeder_pb2.GenerateKeyframesResult:
    return seeder_pb2.GenerateKeyframesResult(
        keyframes=[seeder_pb2.Keyframe(shot_id=i, key_moment_id="km0") for i in ids]
    )


def test_a_first_drawing_draws_every_shot(concept: concept_pb2.Concept) -> None:
    assert keyframe_plan.shots_to_draw(None, concept.storyboard, []) == [
        "shot-001",
        "shot-002",
        "shot-003",
        "shot-004",
    ]


def test_only_missing_and_stale_shots_are_drawn(concept: concept_pb2.Concept) -> None:
    have = _drawn(["shot-001", "shot-002", "shot-004"])
    assert keyframe_plan.shots_to_draw(have, concept.storyboard, ["shot-004"]) == [
        "shot-003",
        "shot-004",
    ]


def test_key_moment_keyframes_are_kept_until_an_edit(concept: concept_pb2.Concept) -> None:
    legacy = seeder_pb2.GenerateKeyframesResult(keyframes=[seeder_pb2.Keyframe(key_moment_id="a")])
    assert keyframe_plan.shots_to_draw(legacy, concept.storyboard, []) == []


def test_keyframes_of_removed_shots_are_pruned(concept: concept_pb2.Concept) -> None:
    kept = keyframe_plan.pruned(_drawn(["shot-001", "gone"]), concept.storyboard)
    assert kept is not None and [k.shot_id for k in kept.keyframes] == ["shot-001"]


def test_fresh_drawings_replace_stored_ones_and_their_sheet(concept: concept_pb2.Concept) -> None:
    old = _drawn(["shot-001", "shot-002", "shot-003", "shot-004"])
    old.contact_sheet.key = "old.png"
    fresh = _drawn(["shot-002"])
    fresh.keyframes[0].prompt = "new"
    fresh.contact_sheet.key = "new.png"
    merged = keyframe_plan.merged_shots(old, fresh, concept.storyboard)
    assert [k.prompt for k in merged.keyframes] == ["", "new", "", ""]
    assert merged.contact_sheet.key == "new.png"


def test_the_concept_hash_ignores_the_shot_list(concept: concept_pb2.Concept) -> None:
    edited = concept_pb2.Concept()
    edited.CopyFrom(concept)
    edited.storyboard.shots[0].prompt = "other"
    edited.storyboard.source = "user"
    assert hashing.concept_hash(edited) == hashing.concept_hash(concept)


def test_a_hard_cut_hides_the_next_shots_drawing(concept: concept_pb2.Concept) -> None:
    shown, nxt = concept.storyboard.shots[0], concept.storyboard.shots[1]
    changed = sb.Shot()
    changed.CopyFrom(nxt)
    changed.prompt = "other"
    assert hashing.segment_shots_part([shown], nxt, False) == hashing.segment_shots_part(
        [shown], changed, False
    )


def test_a_blend_into_the_next_shot_covers_it(concept: concept_pb2.Concept) -> None:
    shown, nxt = concept.storyboard.shots[0], concept.storyboard.shots[1]
    changed = sb.Shot()
    changed.CopyFrom(nxt)
    changed.move = sb.CAMERA_MOVE_ORBIT
    assert hashing.segment_shots_part([shown], nxt, True) != hashing.segment_shots_part(
        [shown], changed, True
    )


def test_shot_entries_map_to_the_transition_of_the_same_name() -> None:
    from services.orchestrator.segments import transition_for

    assert transition_for(sb.SHOT_ENTRY_WHIP) == animator_pb2.TRANSITION_KIND_WHIP
    assert transition_for(sb.SHOT_ENTRY_CUT) == animator_pb2.TRANSITION_KIND_CUT


def test_shot_bars_follow_the_downbeat_grid() -> None:
    assert contract.shot_bars([0.0, 2.0, 4.0], 2.0, 4.0) == (1, 2)
    assert contract.shot_bars([], 2.0, 4.0) == (-1, -1)
