"""What the screenwriter is asked and what must come back: the chat messages, the JSON schema
of the answer, and the answer's validation. Pure; the HTTP call is in `screenwriter`.

The model gets the user's prompt, the mood, the sections (role, label, times, energy, repeat
group), the lyrics sung during the shots asked for, and the director's shots (index, times,
section, framing, move, viewpoint, whether the subject is on screen). It answers one JSON
object: {"story": "...", "shots": [{"index": 0, "prompt": "..."}, ...]} with exactly the
shots asked for. Every property is required and no other is allowed, as OpenAI's strict
structured outputs demand (https://platform.openai.com/docs/guides/structured-outputs).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from lumiere.v1 import concept_pb2
from lumiere.v1 import storyboard_pb2 as sb
from pydantic import BaseModel, ConfigDict, ValidationError

from services.concept.shot_pacing import role_name

SCHEMA_NAME = "lumiere_screenplay"
# A runaway model should not hand renderers a page per shot.
MAX_PROMPT_CHARS = 1500

SCREENPLAY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "story": {
            "type": "string",
            "description": "The video's story or logline in one paragraph.",
        },
        "shots": {
            "type": "array",
            "description": "One entry per shot asked for, in the same order.",
            "items": {
                "type": "object",
                "properties": {
                    "index": {"type": "integer", "description": "The shot's index as given."},
                    "prompt": {
                        "type": "string",
                        "description": "The image prompt for the shot's keyframe.",
                    },
                },
                "required": ["index", "prompt"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["story", "shots"],
    "additionalProperties": False,
}

SYSTEM_PROMPT = (
    "You are the screenwriter of a music video. The director has already cut the song into "
    "shots; you write what each shot shows. For every shot listed, write one image prompt "
    "(one or two sentences: subject, setting, action, light and colour) that fits the user's "
    "prompt, the shot's section, framing and camera, and the lyrics sung around it. Keep the "
    "user's world and subject throughout; when the subject is not on screen, do not show it. "
    "Sections of the same repeat group echo each other. Also write the video's story in one "
    "paragraph (if a story is given, keep to it and repeat it). Answer with JSON only, "
    "matching the schema: every shot listed, with its index, and nothing else."
)


class ScreenplayError(Exception):
    """The answer is unusable; the message is the reason shown in Storyboard.note."""


class ShotLine(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    index: int
    prompt: str


class Screenplay(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    story: str = ""
    shots: list[ShotLine]


def response_format() -> dict[str, Any]:
    """The chat-completions `response_format` asking for the screenplay schema."""
    return {
        "type": "json_schema",
        "json_schema": {"name": SCHEMA_NAME, "strict": True, "schema": SCREENPLAY_SCHEMA},
    }


def _enum_word(name: str, prefix: str) -> str:
    word = name.removeprefix(prefix).lower()
    return "" if word == "unspecified" else word


def shot_brief(shot: sb.Shot) -> dict[str, Any]:
    return {
        "index": shot.index,
        "start": round(shot.start_time, 2),
        "end": round(shot.end_time, 2),
        "section": shot.section_index,
        "framing": _enum_word(sb.Framing.Name(shot.framing), "FRAMING_"),
        "move": _enum_word(sb.CameraMove.Name(shot.move), "CAMERA_MOVE_"),
        "viewpoint": shot.viewpoint,
        "subject_on_screen": shot.subject,
    }


def song_brief(
    concept: concept_pb2.Concept, board: sb.Storyboard, shots: Sequence[sb.Shot], story: str
) -> dict[str, Any]:
    """The facts the model writes from, for one batch of `shots` (lyrics limited to them)."""
    start = min((s.start_time for s in shots), default=0.0)
    end = max((s.end_time for s in shots), default=0.0)
    return {
        "prompt": concept.prompt,
        "subject": board.subject,
        "scene": board.scene_family,
        "mood": list(concept.mood.descriptors),
        "tempo_bpm": round(concept.tempo_bpm, 1),
        "duration_seconds": round(concept.duration_seconds, 2),
        "story": story,
        "sections": [
            {
                "index": i,
                "role": role_name(s.role),
                "label": s.label,
                "start": round(s.start, 2),
                "end": round(s.end, 2),
                "energy": round(s.energy, 2),
                "repeat_group": s.repeat_group,
            }
            for i, s in enumerate(concept.sections)
        ],
        "lyrics": [
            {"start": round(ln.start, 2), "end": round(ln.end, 2), "text": ln.text}
            for ln in concept.lyrics
            if ln.end > start and ln.start < end
        ],
        "shots": [shot_brief(s) for s in shots],
    }


def chat_messages(
    concept: concept_pb2.Concept, board: sb.Storyboard, shots: Sequence[sb.Shot], story: str = ""
) -> list[dict[str, str]]:
    brief = song_brief(concept, board, shots, story)
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": json.dumps(brief, ensure_ascii=False)},
    ]


def _strip_fence(content: str) -> str:
    """Some servers ignore response_format and wrap the JSON in a Markdown code fence."""
    text = content.strip()
    if text.startswith("```") and text.endswith("```"):
        text = text[3:-3].strip()
        text = text.removeprefix("json").strip()
    return text


def _first_error(err: ValidationError) -> str:
    e = err.errors()[0]
    where = ".".join(str(p) for p in e["loc"]) or "the top level"
    return f"{where}: {e['msg']}"


def parse_screenplay(content: str, indices: Sequence[int]) -> Screenplay:
    """The message content -> the Screenplay for exactly the shots `indices`, in that order.

    Raises ScreenplayError: not JSON, not the schema, wrong number of shots, other indices,
    an empty or overlong prompt."""
    try:
        data = json.loads(_strip_fence(content))
    except json.JSONDecodeError as err:
        raise ScreenplayError(f"the answer is not JSON ({err.msg} at char {err.pos})") from None
    try:
        play = Screenplay.model_validate(data)
    except ValidationError as err:
        raise ScreenplayError(
            f"the answer does not match the schema ({_first_error(err)})"
        ) from None
    if len(play.shots) != len(indices):
        raise ScreenplayError(f"expected {len(indices)} shots, got {len(play.shots)}")
    by_index = {line.index: line for line in play.shots}
    missing = [i for i in indices if i not in by_index]
    if missing:
        raise ScreenplayError(f"shot indices do not match the request (missing {missing[:5]})")
    lines = []
    for i in indices:
        prompt = " ".join(by_index[i].prompt.split())
        if not prompt:
            raise ScreenplayError(f"empty prompt for shot {i}")
        if len(prompt) > MAX_PROMPT_CHARS:
            raise ScreenplayError(
                f"prompt for shot {i} is too long ({len(prompt)} > {MAX_PROMPT_CHARS} characters)"
            )
        lines.append(ShotLine(index=i, prompt=prompt))
    return Screenplay(story=" ".join(play.story.split()), shots=lines)
