"""RunOverrides: what a regenerate changed, and its one serialised form."""

from __future__ import annotations

from services.orchestrator.overrides import RunOverrides


def test_json_round_trip() -> None:
    overrides = RunOverrides(
        segment_seeds={2: 777, 0: 5},
        prompt_overrides={"km1": "a red moon"},
        keyframe_seeds={"km1": 9},
        redraw=("km1",),
    )
    assert RunOverrides.from_json(overrides.to_json()) == overrides


def test_reads_the_free_form_dict_of_earlier_rows() -> None:
    stored = '{"segment_seeds": {"3": 42}, "redraw": ["km2"], "prompt_overrides": {"km2": "p"}}'
    overrides = RunOverrides.from_json(stored)
    assert overrides.segment_seeds == {3: 42}
    assert overrides.redraw == ("km2",)
    assert RunOverrides.from_json("{}") == RunOverrides() == RunOverrides.from_json(None)


def test_segment_seed_defaults_to_project_seed_plus_index_within_int64() -> None:
    overrides = RunOverrides(segment_seeds={1: 7})
    assert overrides.segment_seed(1, 100) == 7
    assert overrides.segment_seed(2, 100) == 102
    assert overrides.segment_seed(1, 0) == 7
    assert 0 <= RunOverrides().segment_seed(5, 2**63 - 2) < 2**63


def test_regenerate_with_a_seed_only_changes_the_segment_take() -> None:
    changed = RunOverrides().regenerate(2, 777, "km2", "", 777)
    assert changed == RunOverrides(segment_seeds={2: 777})


def test_regenerate_with_a_prompt_redraws_its_keyframe_until_drawn() -> None:
    changed = RunOverrides(redraw=("km0",)).regenerate(1, 5, "km1", "a red moon", 9)
    assert changed.prompt_overrides == {"km1": "a red moon"}
    assert changed.keyframe_seeds == {"km1": 9}
    assert changed.redraw == ("km0", "km1")
    assert changed.keyframe_seed(["km1"], 1) == 9
    assert changed.keyframe_seed(["km0", "km1"], 1) == 1  # several moments: the project seed
    assert changed.prompts_for(["km0"]) == {}
    assert changed.drawn().redraw == ()
