"""The screenwriter without a network: the brief, the schema, the answer's validation, the
settings, and applying a screenplay to the director's storyboard."""

from __future__ import annotations

import json
from typing import Any

import pytest
from lumiere.v1 import concept_pb2
from lumiere.v1 import storyboard_pb2 as sb

from services.common.settings import Settings
from services.concept.screenplay import (
    MAX_PROMPT_CHARS,
    SCHEMA_NAME,
    Screenplay,
    ScreenplayError,
    ShotLine,
    chat_messages,
    parse_screenplay,
    response_format,
)
from services.concept.screenwriter import (
    ScreenwriterConfig,
    apply_screenplay,
    rewrite_storyboard,
)
from tests.support.concepts import boarded_concept


@pytest.fixture(scope="module")
def concept() -> concept_pb2.Concept:
    return boarded_concept()


def _brief(concept: concept_pb2.Concept, shots: list[sb.Shot]) -> dict[str, Any]:
    user = chat_messages(concept, concept.storyboard, shots)[1]
    assert user["role"] == "user"
    return dict(json.loads(user["content"]))


def _objects(schema: dict[str, Any]) -> list[dict[str, Any]]:
    found = [schema] if schema.get("type") == "object" else []
    for sub in schema.get("properties", {}).values():
        found += _objects(sub)
    if "items" in schema:
        found += _objects(schema["items"])
    return found


def _play(indices: list[int], prompt: str = "a dancer under neon rain") -> str:
    return json.dumps({"story": "", "shots": [{"index": i, "prompt": prompt} for i in indices]})


def test_response_format_is_a_strict_json_schema() -> None:
    fmt = response_format()
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == SCHEMA_NAME
    assert fmt["json_schema"]["strict"] is True


def test_schema_objects_follow_strict_mode_rules() -> None:
    """OpenAI strict mode: every property required, no additional properties."""
    objects = _objects(response_format()["json_schema"]["schema"])
    assert len(objects) == 2
    for obj in objects:
        assert obj["additionalProperties"] is False
        assert sorted(obj["required"]) == sorted(obj["properties"])


def test_brief_carries_prompt_mood_and_sections(concept: concept_pb2.Concept) -> None:
    brief = _brief(concept, list(concept.storyboard.shots))
    assert brief["prompt"] == concept.prompt
    assert brief["mood"] == ["driving", "dark"]
    assert [(s["role"], s["label"]) for s in brief["sections"]] == [
        ("verse", "verse 1"),
        ("chorus", "chorus 1"),
        ("verse", "verse 2"),
    ]
    assert brief["sections"][1] == {
        "index": 1,
        "role": "chorus",
        "label": "chorus 1",
        "start": 16.0,
        "end": 32.0,
        "energy": 0.9,
        "repeat_group": 1,
    }


def test_brief_lists_the_directors_shots(concept: concept_pb2.Concept) -> None:
    shots = list(concept.storyboard.shots)
    brief = _brief(concept, shots)
    assert [s["index"] for s in brief["shots"]] == [s.index for s in shots]
    first = brief["shots"][0]
    assert first["start"] == 0.0
    assert first["end"] == pytest.approx(shots[0].end_time, abs=0.01)
    assert first["section"] == 0
    assert first["framing"] == sb.Framing.Name(shots[0].framing).removeprefix("FRAMING_").lower()
    assert [s["subject_on_screen"] for s in brief["shots"]] == [s.subject for s in shots]


def test_brief_lyrics_are_those_of_the_batch(concept: concept_pb2.Concept) -> None:
    in_chorus = [s for s in concept.storyboard.shots if s.section_index == 1]
    brief = _brief(concept, in_chorus)
    assert [ln["text"] for ln in brief["lyrics"]] == ["we light the night"]


def test_parse_orders_lines_and_collapses_whitespace() -> None:
    content = json.dumps(
        {
            "story": " A dancer\nfinds the light. ",
            "shots": [{"index": 1, "prompt": "b  shot"}, {"index": 0, "prompt": " a\tshot "}],
        }
    )
    play = parse_screenplay(content, [0, 1])
    assert play == Screenplay(
        story="A dancer finds the light.",
        shots=[ShotLine(index=0, prompt="a shot"), ShotLine(index=1, prompt="b shot")],
    )


def test_parse_accepts_a_fenced_answer() -> None:
    play = parse_screenplay(f"```json\n{_play([0])}\n```", [0])
    assert play.shots[0].prompt == "a dancer under neon rain"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("the dancer walks", "the answer is not JSON"),
        (json.dumps({"story": ""}), "does not match the schema (shots: Field required)"),
        (
            json.dumps({"story": "", "shots": [{"index": "0", "prompt": "x"}]}),
            "does not match the schema (shots.0.index",
        ),
        (
            json.dumps({"story": "", "shots": [{"index": 0, "prompt": "x", "mood": "y"}]}),
            "does not match the schema (shots.0.mood",
        ),
        (json.dumps([1, 2]), "does not match the schema"),
        (_play([0, 1]), "expected 1 shots, got 2"),
        (_play([5]), "shot indices do not match the request (missing [0])"),
        (_play([0], prompt="  \n "), "empty prompt for shot 0"),
        (_play([0], prompt="x" * (MAX_PROMPT_CHARS + 1)), "prompt for shot 0 is too long"),
    ],
    ids=[
        "not-json",
        "missing-shots",
        "index-as-string",
        "extra-field",
        "not-an-object",
        "count",
        "indices",
        "empty",
        "too-long",
    ],
)
def test_parse_rejects(content: str, reason: str) -> None:
    with pytest.raises(ScreenplayError) as err:
        parse_screenplay(content, [0])
    assert reason in str(err.value)


def test_apply_replaces_only_the_prompts(concept: concept_pb2.Concept) -> None:
    board = concept.storyboard
    play = Screenplay(
        story="One night.",
        shots=[ShotLine(index=s.index, prompt=f"p{s.index}") for s in board.shots],
    )
    out = apply_screenplay(board, play, "tiny-model")
    assert [s.prompt for s in out.shots] == [f"p{i}" for i in range(len(board.shots))]
    for mine, theirs in zip(out.shots, board.shots, strict=True):
        theirs_copy = sb.Shot()
        theirs_copy.CopyFrom(theirs)
        theirs_copy.prompt = mine.prompt
        assert mine == theirs_copy
    assert out.source == "screenwriter"
    assert out.note == "prompts written by the screenwriter (tiny-model)"
    assert out.story == "One night."
    assert board.source == "director"  # the input is not modified


def test_not_configured_leaves_the_storyboard_unchanged(concept: concept_pb2.Concept) -> None:
    assert ScreenwriterConfig.from_settings(Settings()) is None
    assert rewrite_storyboard(concept, None) == concept.storyboard


def test_without_a_model_the_directors_plan_is_kept(concept: concept_pb2.Concept) -> None:
    config = ScreenwriterConfig(base_url="http://127.0.0.1:9/v1", model="")
    out = rewrite_storyboard(concept, config)
    assert [s.prompt for s in out.shots] == [s.prompt for s in concept.storyboard.shots]
    assert out.source == "director"
    assert out.note == (
        "screenwriter failed: no model configured (LUMIERE_SCREENWRITER_MODEL); "
        "using the director's prompts"
    )


def test_config_from_settings() -> None:
    settings = Settings(
        screenwriter_base_url="http://127.0.0.1:11434/v1/",
        screenwriter_model="qwen3:4b",
        screenwriter_api_key="sk-secret",
        screenwriter_timeout_s=12.0,
        screenwriter_max_shots=8,
    )
    config = ScreenwriterConfig.from_settings(settings)
    assert config == ScreenwriterConfig(
        base_url="http://127.0.0.1:11434/v1",
        model="qwen3:4b",
        api_key="sk-secret",
        timeout_s=12.0,
        max_shots=8,
    )
    assert config.url == "http://127.0.0.1:11434/v1/chat/completions"
    assert config.headers() == {"Authorization": "Bearer sk-secret"}


def test_the_api_key_is_not_printed() -> None:
    settings = Settings(screenwriter_base_url="http://x/v1", screenwriter_api_key="sk-secret")
    config = ScreenwriterConfig.from_settings(settings)
    assert "sk-secret" not in repr(settings)
    assert "sk-secret" not in repr(config)


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LUMIERE_SCREENWRITER_BASE_URL", "http://127.0.0.1:8080/v1")
    monkeypatch.setenv("LUMIERE_SCREENWRITER_MODEL", "local")
    monkeypatch.setenv("LUMIERE_SCREENWRITER_TIMEOUT_S", "5")
    monkeypatch.setenv("LUMIERE_SCREENWRITER_MAX_SHOTS", "16")
    config = ScreenwriterConfig.from_settings(Settings())
    assert config is not None
    assert (config.base_url, config.model, config.timeout_s, config.max_shots) == (
        "http://127.0.0.1:8080/v1",
        "local",
        5.0,
        16,
    )
    assert config.headers() == {}
