"""The storyboard's JSON shape, both ways: the view of a project's plan, and an edit of it.

Enum names are the proto's own, lowercase without their prefix ("close_up", "push_in",
"flash_cut"), derived from the descriptors, and listed in every view (`vocabulary`), so clients
and the page never restate them. An edit names shots by id: a shot of the current plan keeps
whatever the edit does not mention; what follows from the music (index, bars, section, frames)
is renumbered by the orchestrator, which also checks that the shots tile the song.
"""

from __future__ import annotations

from typing import Any

from lumiere.v1 import concept_pb2, storyboard_pb2
from lumiere.v1 import orchestrator_pb2 as opb

from services.common import contract
from services.common.enum_names import enum_values
from services.common.errors import InvalidInput

# Field -> (JSON name -> proto value), from the proto enums.
ENUM_FIELDS: dict[str, dict[str, int]] = {
    "framing": enum_values(storyboard_pb2.Framing.DESCRIPTOR, "FRAMING_"),
    "move": enum_values(storyboard_pb2.CameraMove.DESCRIPTOR, "CAMERA_MOVE_"),
    "entry": enum_values(storyboard_pb2.ShotEntry.DESCRIPTOR, "SHOT_ENTRY_"),
}
_ROLE_NAMES = {
    v: k for k, v in enum_values(concept_pb2.SectionRole.DESCRIPTOR, "SECTION_ROLE_").items()
}
_TEXT_FIELDS = ("id", "viewpoint", "prompt")
_TIME_FIELDS = ("start_time", "end_time")
_INT_FIELDS = ("look", "seed")
# In the view, not taken from an edit: they follow from the music and the project.
_DERIVED_FIELDS = frozenset(
    {"index", "start_frame", "end_frame", "start_bar", "end_bar", "section", "keyframe_url"}
)
_SHOT_FIELDS = frozenset(
    {*_TEXT_FIELDS, *_TIME_FIELDS, *_INT_FIELDS, *ENUM_FIELDS, "subject", *_DERIVED_FIELDS}
)


def _enum_name(field: str, value: int) -> str:
    for name, number in ENUM_FIELDS[field].items():
        if number == value:
            return name
    return "unspecified"


def has_storyboard(project: opb.Project) -> bool:
    return project.HasField("concept") and len(project.concept.storyboard.shots) > 0


def storyboard_view(project: opb.Project, base: str = "/api/v1/projects") -> dict[str, Any]:
    """The plan in use, per shot with its frames at the project's fps and its keyframe."""
    url = f"{base}/{project.id}"
    board = project.concept.storyboard
    fps = project.options.fps or contract.DEFAULT_FPS
    sections = project.concept.sections
    keyframe_index = {k.shot_id: i for i, k in enumerate(project.keyframes) if k.shot_id}
    shots = []
    for shot in board.shots:
        section = None
        if 0 <= shot.section_index < len(sections):
            s = sections[shot.section_index]
            section = {
                "index": shot.section_index,
                "label": s.label,
                "role": _ROLE_NAMES.get(s.role, "unspecified"),
            }
        drawn = keyframe_index.get(shot.id)
        shots.append(
            {
                "index": shot.index,
                "id": shot.id,
                "start_time": round(shot.start_time, 6),
                "end_time": round(shot.end_time, 6),
                "start_frame": contract.time_to_frame(shot.start_time, fps),
                "end_frame": contract.time_to_frame(shot.end_time, fps),
                "start_bar": shot.start_bar,
                "end_bar": shot.end_bar,
                "section": section,
                "framing": _enum_name("framing", shot.framing),
                "move": _enum_name("move", shot.move),
                "look": shot.look,
                "viewpoint": shot.viewpoint,
                "prompt": shot.prompt,
                "subject": shot.subject,
                "entry": _enum_name("entry", shot.entry),
                "seed": shot.seed,
                "keyframe_url": f"{url}/keyframes/{drawn}" if drawn is not None else None,
            }
        )
    return {
        "source": board.source,
        "subject": board.subject,
        "note": board.note,
        "scene_family": board.scene_family,
        "cut_grid": board.cut_grid,
        "fps": fps,
        "shots": shots,
        "strip_url": f"{url}/storyboard.png" if project.contact_sheet.key else None,
        "vocabulary": {field: list(names) for field, names in ENUM_FIELDS.items()},
    }


def _shot_from_json(
    i: int, item: Any, known: dict[str, storyboard_pb2.Shot]
) -> storyboard_pb2.Shot:
    if not isinstance(item, dict):
        raise InvalidInput(f"shot {i} must be a JSON object")
    unknown = sorted(set(item) - _SHOT_FIELDS)
    if unknown:
        raise InvalidInput(f"shot {i}: unknown field(s) {', '.join(unknown)}")
    shot = storyboard_pb2.Shot()
    if isinstance(item.get("id"), str) and item["id"] in known:
        shot.CopyFrom(known[item["id"]])
    for field in _TEXT_FIELDS:
        if field in item:
            if not isinstance(item[field], str):
                raise InvalidInput(f"shot {i}: {field} must be a string")
            setattr(shot, field, item[field].strip())
    for field in _TIME_FIELDS:
        if field in item:
            value = item[field]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidInput(f"shot {i}: {field} must be a number of seconds")
            setattr(shot, field, float(value))
    for field in _INT_FIELDS:
        if field in item:
            value = item[field]
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidInput(f"shot {i}: {field} must be a whole number >= 0")
            setattr(shot, field, value)
    if "subject" in item:
        if not isinstance(item["subject"], bool):
            raise InvalidInput(f"shot {i}: subject must be true or false")
        shot.subject = item["subject"]
    for field, names in ENUM_FIELDS.items():
        if field in item:
            name = item[field]
            if name not in names:
                raise InvalidInput(f"shot {i}: unknown {field} {name!r}; known: {', '.join(names)}")
            setattr(shot, field, names[name])
    return shot


def storyboard_from_json(
    data: Any, current: storyboard_pb2.Storyboard | None
) -> storyboard_pb2.Storyboard:
    """An edited storyboard (the view's shape) as a proto, on top of `current` (or from
    scratch, for a project created with a storyboard)."""
    if not isinstance(data, dict) or not isinstance(data.get("shots"), list):
        raise InvalidInput("the storyboard must be a JSON object with a 'shots' list")
    board = storyboard_pb2.Storyboard()
    if current is not None:
        board.CopyFrom(current)
        del board.shots[:]
    for field in ("subject", "note"):
        if field in data:
            if not isinstance(data[field], str):
                raise InvalidInput(f"storyboard {field} must be a string")
            setattr(board, field, data[field])
    known = {s.id: s for s in current.shots} if current is not None else {}
    board.shots.extend(_shot_from_json(i, item, known) for i, item in enumerate(data["shots"]))
    return board
