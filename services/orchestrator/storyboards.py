"""The storyboard as the orchestrator keeps it: checking an edited one, and what an edit changes.

The director's plan arrives in Concept.storyboard. A user may replace it (UpdateStoryboard, or a
storyboard given at create): `checked` makes sure it still describes this song at this fps, and
renumbers what follows from the music (index, bars, section, key moment) so an edit only has to
say what it means (prompts, cuts, framing, move). `redraws` names the shots whose keyframes an
edit makes stale; the segments need no list: their reuse keys (hashing.py) already change
exactly when their requests do. Pure functions.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable

from google.protobuf.descriptor import EnumDescriptor
from google.protobuf.json_format import MessageToJson
from lumiere.v1 import concept_pb2, storyboard_pb2

from services.common import contract
from services.common.errors import InvalidInput

USER_SOURCE = "user"
# Shot boundaries this close together are the same instant (JSON round trips, hand edits);
# they are snapped so the stored plan tiles the song exactly.
TIME_TOLERANCE_S = 1e-3
# Shot fields that do not change the keyframe the seeder draws: its place in the list, where it
# ends, and how the camera moves through it and cuts into it (the animator's).
_NOT_DRAWN = ("index", "end_time", "end_bar", "move", "entry", "quick")
_ENUMS: tuple[tuple[str, EnumDescriptor], ...] = (
    ("framing", storyboard_pb2.Framing.DESCRIPTOR),
    ("move", storyboard_pb2.CameraMove.DESCRIPTOR),
    ("entry", storyboard_pb2.ShotEntry.DESCRIPTOR),
)


def _name(i: int, shot: storyboard_pb2.Shot) -> str:
    return f"shot {i} ({shot.id})" if shot.id else f"shot {i}"


def _check_shape(board: storyboard_pb2.Storyboard, max_prompt_chars: int) -> None:
    """What needs no song: ids, enum values, prompt lengths, times in order without holes."""
    if not board.shots:
        raise InvalidInput("the storyboard has no shots")
    seen: dict[str, int] = {}
    for i, shot in enumerate(board.shots):
        if not shot.id.strip():
            raise InvalidInput(f"shot {i} has no id")
        if shot.id in seen:
            raise InvalidInput(
                f"shot ids must be unique: {shot.id!r} is used by shots {seen[shot.id]} and {i}"
            )
        seen[shot.id] = i
        for field, enum in _ENUMS:
            value = getattr(shot, field)
            if value not in enum.values_by_number:
                raise InvalidInput(f"{_name(i, shot)}: unknown {field} {value}")
        if len(shot.prompt) > max_prompt_chars:
            raise InvalidInput(
                f"{_name(i, shot)}: prompt is {len(shot.prompt)} characters; "
                f"the limit is {max_prompt_chars}"
            )
        if shot.end_time <= shot.start_time:
            raise InvalidInput(
                f"{_name(i, shot)} ends at {shot.end_time:.3f} s, not after its start at "
                f"{shot.start_time:.3f} s: every shot needs a length"
            )
    first = board.shots[0]
    if abs(first.start_time) > TIME_TOLERANCE_S:
        raise InvalidInput(
            f"gap before {_name(0, first)}: it starts at {first.start_time:.3f} s; "
            "the shots must cover the song from 0 s"
        )
    for i in range(1, len(board.shots)):
        prev, shot = board.shots[i - 1], board.shots[i]
        if shot.start_time < prev.end_time - TIME_TOLERANCE_S:
            raise InvalidInput(
                f"{_name(i, shot)} starts at {shot.start_time:.3f} s, before "
                f"{_name(i - 1, prev)} ends at {prev.end_time:.3f} s: shots overlap"
            )
        if shot.start_time > prev.end_time + TIME_TOLERANCE_S:
            raise InvalidInput(
                f"gap between {_name(i - 1, prev)}, ending at {prev.end_time:.3f} s, and "
                f"{_name(i, shot)}, starting at {shot.start_time:.3f} s: each shot must start "
                "where the previous one ends"
            )


def check_shape(board: storyboard_pb2.Storyboard, max_prompt_chars: int) -> None:
    """The checks a storyboard given at create gets before the song is analysed."""
    _check_shape(board, max_prompt_chars)


def checked(
    board: storyboard_pb2.Storyboard,
    concept: concept_pb2.Concept,
    fps: int,
    max_prompt_chars: int,
    current: storyboard_pb2.Storyboard | None = None,
) -> storyboard_pb2.Storyboard:
    """`board` as the plan of this song at `fps`, or InvalidInput naming the first problem.

    The shots must tile [0, duration) in order, each at least one frame long at `fps`, with
    unique ids and known framing/move/entry values. The result is a copy with the boundaries
    snapped together, `source` "user", its index renumbered, and bars, section and key moment
    derived from the music (the director's rules) for shots that are new or whose times moved;
    a shot of `current` that kept its times keeps them as they were, so it stays as drawn.
    """
    _check_shape(board, max_prompt_chars)
    duration = concept.duration_seconds
    last = board.shots[-1]
    if abs(last.end_time - duration) > TIME_TOLERANCE_S:
        where = "before" if last.end_time < duration else "after"
        problem = "a gap at the end" if where == "before" else "past the end"
        raise InvalidInput(
            f"{_name(len(board.shots) - 1, last)} ends at {last.end_time:.3f} s, {where} the "
            f"song ends at {duration:.3f} s: {problem}"
        )
    out = storyboard_pb2.Storyboard()
    out.CopyFrom(board)
    out.source = USER_SOURCE
    downbeats = sorted(concept.downbeat_times)
    moments = sorted(concept.key_moments, key=lambda m: m.time)
    moment_times = [m.time for m in moments]
    before = {s.id: s for s in current.shots} if current is not None else {}
    for i, shot in enumerate(out.shots):
        shot.index = i
        shot.start_time = 0.0 if i == 0 else out.shots[i - 1].end_time
        if i == len(out.shots) - 1:
            shot.end_time = duration
        frames = contract.time_to_frame(shot.end_time, fps) - contract.time_to_frame(
            shot.start_time, fps
        )
        if frames < 1:
            raise InvalidInput(
                f"{_name(i, shot)} is {frames} frames long at {fps} fps "
                f"({shot.end_time - shot.start_time:.3f} s): too short, every shot needs at "
                "least 1 frame"
            )
        old = before.get(shot.id)
        if old is not None and _same_times(old, shot):
            shot.start_bar, shot.end_bar = old.start_bar, old.end_bar
            shot.section_index, shot.key_moment_id = old.section_index, old.key_moment_id
            continue
        shot.start_bar, shot.end_bar = contract.shot_bars(downbeats, shot.start_time, shot.end_time)
        shot.section_index = _section_at(concept, shot.start_time)
        k = bisect.bisect_right(moment_times, shot.start_time + contract.BAR_EPSILON_S) - 1
        shot.key_moment_id = moments[max(k, 0)].id if moments else ""
    return out


def _same_times(a: storyboard_pb2.Shot, b: storyboard_pb2.Shot) -> bool:
    return (
        abs(a.start_time - b.start_time) <= TIME_TOLERANCE_S
        and abs(a.end_time - b.end_time) <= TIME_TOLERANCE_S
    )


def _section_at(concept: concept_pb2.Concept, t: float) -> int:
    for i, section in enumerate(concept.sections):
        if section.start - TIME_TOLERANCE_S <= t < section.end:
            return i
    return len(concept.sections) - 1 if concept.sections else -1


def _drawing(board: storyboard_pb2.Storyboard, shot: storyboard_pb2.Shot) -> bytes:
    """What the seeder draws a shot's keyframe from (the shot and the plan's subject/family)."""
    drawn = storyboard_pb2.Shot()
    drawn.CopyFrom(shot)
    for field in _NOT_DRAWN:
        drawn.ClearField(field)
    context = f"{board.subject}\0{board.scene_family}\0".encode()
    return context + drawn.SerializeToString(deterministic=True)


def redraws(old: storyboard_pb2.Storyboard, new: storyboard_pb2.Storyboard) -> list[str]:
    """Ids of the shots of `new` whose keyframes `old`'s no longer match (new ones included)."""
    before = {s.id: _drawing(old, s) for s in old.shots}
    return [s.id for s in new.shots if before.get(s.id) != _drawing(new, s)]


def shot_ids(board: storyboard_pb2.Storyboard) -> list[str]:
    return [s.id for s in board.shots]


def find_shot(board: storyboard_pb2.Storyboard, shot_id: str) -> storyboard_pb2.Shot:
    for shot in board.shots:
        if shot.id == shot_id:
            return shot
    known = ", ".join(shot_ids(board)[:5])
    raise InvalidInput(
        f"shot {shot_id!r} is not in the storyboard ({len(board.shots)} shots: {known}, ...)"
    )


def overlapping(
    board: storyboard_pb2.Storyboard, start_s: float, end_s: float
) -> Iterable[storyboard_pb2.Shot]:
    """The shots a segment over [start_s, end_s) shows or cuts into (the one starting at its
    end included: a transition into it is rendered by this segment)."""
    for shot in board.shots:
        if shot.end_time > start_s + TIME_TOLERANCE_S and shot.start_time <= end_s + 1e-9:
            yield shot


def storyboard_json(board: storyboard_pb2.Storyboard) -> str:
    """The stored artifact (contract.storyboard_key): the proto's own JSON mapping."""
    return MessageToJson(board, preserving_proto_field_name=True, indent=1)
