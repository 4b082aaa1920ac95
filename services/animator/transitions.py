"""Which transition lands on a key moment, and how long it runs.

The choice is a pure function of the concept and the key moment, so the segment that transitions
*into* a keyframe and the segment that starts *from* it (which renders, e.g., the decay of a flash)
agree without talking to each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from lumiere.v1 import animator_pb2, concept_pb2, storyboard_pb2

CROSSFADE = animator_pb2.TRANSITION_KIND_CROSSFADE
ZOOM_THROUGH = animator_pb2.TRANSITION_KIND_ZOOM_THROUGH
FLASH_CUT = animator_pb2.TRANSITION_KIND_FLASH_CUT
SLIDE = animator_pb2.TRANSITION_KIND_SLIDE
CUT = animator_pb2.TRANSITION_KIND_CUT
WHIP = animator_pb2.TRANSITION_KIND_WHIP

# A storyboard shot's entry (how it begins) -> the transition that lands on its first frame.
ENTRY_KINDS = {
    storyboard_pb2.SHOT_ENTRY_CUT: CUT,
    storyboard_pb2.SHOT_ENTRY_FLASH_CUT: FLASH_CUT,
    storyboard_pb2.SHOT_ENTRY_CROSSFADE: CROSSFADE,
    storyboard_pb2.SHOT_ENTRY_WHIP: WHIP,
    storyboard_pb2.SHOT_ENTRY_ZOOM_THROUGH: ZOOM_THROUGH,
}

# After a flash cut the white flash decays with this time constant (seconds), and at most with
# this share of the shot's length: a quick shot (half a second) is not washed out to grey for
# most of its time (its near-blacks lifted by tens of code values), only opened by the flash.
FLASH_DECAY_S = 0.16
FLASH_SHOT_SHARE = 0.125
# After a whip the incoming shot's pan and blur settle within this many seconds.
WHIP_SETTLE_S = 0.13


def entry_transition(entry: int) -> int:
    """The transition for a shot's entry; an unspecified entry is a hard cut (the director's
    default: shots change on the beat)."""
    return ENTRY_KINDS.get(entry, CUT)


@dataclass(frozen=True)
class TransitionPlan:
    kind: int
    # Frames before the landing frame during which the transition runs (landing frame excluded).
    frames: int


def _section_at(concept: concept_pb2.Concept, t: float) -> concept_pb2.Section | None:
    for sec in concept.sections:
        if sec.start - 1e-3 <= t < sec.end:
            return sec
    return None


def _near_downbeat(concept: concept_pb2.Concept, t: float, tol: float = 0.07) -> bool:
    times = list(concept.downbeat_times) or [b.time for b in concept.beats if b.downbeat]
    return any(abs(d - t) <= tol for d in times)


def find_moment(concept: concept_pb2.Concept, moment_id: str, t: float) -> int:
    """Index of the key moment with this id (or nearest in time); -1 when there are none."""
    for i, m in enumerate(concept.key_moments):
        if moment_id and m.id == moment_id:
            return i
    if not concept.key_moments:
        return -1
    return min(range(len(concept.key_moments)), key=lambda i: abs(concept.key_moments[i].time - t))


def choose_transition(concept: concept_pb2.Concept, moment_id: str, t: float) -> int:
    """The transition into the key moment at time t, chosen by the kind of change there."""
    idx = find_moment(concept, moment_id, t)
    role = concept.key_moments[idx].role if idx >= 0 else concept_pb2.MOMENT_ROLE_UNSPECIFIED
    sec = _section_at(concept, t + 0.05)
    prev = _section_at(concept, t - 0.5)
    sec_role = sec.role if sec else concept_pb2.SECTION_ROLE_UNSPECIFIED
    energy_jump = (sec.energy - prev.energy) if (sec and prev and sec is not prev) else 0.0
    loud_entry = sec_role in (concept_pb2.SECTION_ROLE_CHORUS, concept_pb2.SECTION_ROLE_DROP) or (
        role in (concept_pb2.MOMENT_ROLE_CLIMAX, concept_pb2.MOMENT_ROLE_PEAK)
    )
    if (
        loud_entry
        and (energy_jump > 0.1 or sec_role == concept_pb2.SECTION_ROLE_DROP)
        and (_near_downbeat(concept, t) or not concept.downbeat_times)
    ):
        return FLASH_CUT
    if role == concept_pb2.MOMENT_ROLE_BUILD or energy_jump > 0.15:
        return ZOOM_THROUGH
    if role == concept_pb2.MOMENT_ROLE_BRIDGE or sec_role in (
        concept_pb2.SECTION_ROLE_BRIDGE,
        concept_pb2.SECTION_ROLE_BREAKDOWN,
    ):
        return SLIDE
    return CROSSFADE


def plan_transition(
    kind: int, fps: int, beat_period: float, available_frames: int, short: bool = False
) -> TransitionPlan:
    """Transition length: about a beat (crossfade), half a beat (zoom/slide), 2 frames (flash),
    none (cut). `short` (between storyboard shots, a few seconds each): a crossfade of half a
    beat, a whip of a third of one.

    Every transition ends on the landing frame, inside the outgoing segment, so segments
    rendered apart still join exactly.
    """
    if kind == CUT:
        return TransitionPlan(kind=CUT, frames=0)
    if kind == FLASH_CUT:
        seconds = 0.07
    elif kind == WHIP:
        seconds = min(max(0.35 * beat_period, 0.12), 0.25)
    elif kind == CROSSFADE and short:
        seconds = min(max(0.5 * beat_period, 0.2), 0.5)
    elif kind == CROSSFADE:
        seconds = min(max(beat_period, 0.35), 1.0)
    else:
        seconds = min(max(0.5 * beat_period, 0.25), 0.6)
    frames = max(1, int(round(seconds * fps)))
    # Never eat more than half of the outgoing shot.
    frames = min(frames, max(1, available_frames // 2))
    return TransitionPlan(kind=kind or CROSSFADE, frames=frames)
