"""Concepts with a hand-made storyboard (no music analysis): shots cycling through the shared
table's framings and viewpoints of one scene family, for seeder tests and benches."""

from __future__ import annotations

from lumiere.v1 import concept_pb2
from lumiere.v1 import storyboard_pb2 as sb

from services.common.scene_vocabulary import ABSTRACT_VIEWPOINTS, VIEWPOINTS

FRAMINGS = {
    "wide": sb.FRAMING_WIDE,
    "medium": sb.FRAMING_MEDIUM,
    "close_up": sb.FRAMING_CLOSE_UP,
    "detail": sb.FRAMING_DETAIL,
    "subject": sb.FRAMING_SUBJECT,
    "abstract": sb.FRAMING_ABSTRACT,
}
ORDER = ("wide", "subject", "close_up", "detail", "medium", "abstract")


def storyboard_concept(
    n_shots: int = 6,
    prompt: str = "neon city at night, rain, a lone dancer",
    family: str = "city",
    subject: str = "dancer",
    shot_seconds: float = 2.0,
    moments: int = 3,
) -> concept_pb2.Concept:
    duration = n_shots * shot_seconds
    concept = concept_pb2.Concept(
        prompt=prompt,
        duration_seconds=duration,
        mood=concept_pb2.Mood(energy=0.6, brightness=0.5, valence=0.6, descriptors=["energetic"]),
    )
    for i in range(moments):
        concept.key_moments.add(
            id=f"km{i}", time=i * duration / moments, intensity=0.5, prompt=prompt
        )
    board = concept.storyboard
    board.subject, board.scene_family, board.source = subject, family, "director"
    for i in range(n_shots):
        framing = ORDER[i % len(ORDER)]
        if framing == "abstract":
            viewpoint = ABSTRACT_VIEWPOINTS[i % len(ABSTRACT_VIEWPOINTS)].name
        else:
            cands = [v.name for v in VIEWPOINTS[family] if framing in v.framings]
            viewpoint = cands[i % len(cands)] if cands else VIEWPOINTS[family][0].name
        start = i * shot_seconds
        board.shots.add(
            id=f"shot-{i + 1:03d}",
            index=i,
            start_time=start,
            end_time=start + shot_seconds,
            framing=FRAMINGS[framing],
            viewpoint=viewpoint,
            look=i % 4,
            subject=bool(subject) and framing in ("subject", "close_up", "medium"),
            seed=1000 + i,
            prompt=f"{prompt}, {framing.replace('_', ' ')} shot, {viewpoint}",
            intensity=0.3 + 0.1 * (i % 5),
            key_moment_id=f"km{min(moments - 1, int(start / (duration / moments)))}",
        )
    return concept
