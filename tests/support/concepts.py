"""Concepts built by hand (no audio): exact beat grids and sections for the director's tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from lumiere.v1 import concept_pb2

from services.concept.analysis import SECTION_ROLE
from services.concept.storyboard import plan_storyboard

ROLES = SECTION_ROLE


@dataclass(frozen=True)
class Part:
    role: str
    bars: int
    energy: float
    group: int


def grid_concept(
    bpm: float,
    parts: list[Part],
    confidence: float = 0.9,
    beats_per_bar: int = 4,
    prompt: str = "neon city at night, rain, a lone dancer",
    tail_s: float = 1.0,
    beats: bool = True,
) -> concept_pb2.Concept:
    """A concept on an exact grid: sections of whole bars, intensity = section energy,
    onsets on every beat, one key moment per section; `beats=False` leaves beats and
    downbeats empty (a song without a pulse)."""
    period = 60.0 / bpm
    bar = period * beats_per_bar
    total_bars = sum(p.bars for p in parts)
    duration = total_bars * bar + tail_s
    rate = 20.0
    curve = np.zeros(int(np.ceil(duration * rate)))
    c = concept_pb2.Concept(
        duration_seconds=duration,
        tempo_bpm=bpm,
        tempo_confidence=confidence,
        beats_per_bar=beats_per_bar,
        prompt=prompt,
    )
    t = 0.0
    counts: dict[str, int] = {}
    for k, p in enumerate(parts):
        start, end = t, t + p.bars * bar
        counts[p.role] = counts.get(p.role, 0) + 1
        c.sections.append(
            concept_pb2.Section(
                start=start,
                end=end if k + 1 < len(parts) else duration,
                label=f"{p.role} {counts[p.role]}",
                role=ROLES[p.role],
                repeat_group=p.group,
                energy=p.energy,
            )
        )
        curve[int(start * rate) : int(end * rate)] = p.energy
        c.key_moments.append(
            concept_pb2.KeyMoment(
                id=f"moment_{k + 1:02d}",
                time=start,
                role=concept_pb2.MOMENT_ROLE_INTRO if k == 0 else concept_pb2.MOMENT_ROLE_BUILD,
                intensity=p.energy,
                section_index=k,
            )
        )
        t = end
    curve[int(t * rate) :] = parts[-1].energy * 0.5
    c.intensity.CopyFrom(concept_pb2.Curve(rate_hz=rate, values=curve.tolist()))
    n_beats = total_bars * beats_per_bar
    if beats:
        for i in range(n_beats):
            pos = i % beats_per_bar + 1
            c.beats.append(
                concept_pb2.Beat(time=i * period, strength=0.8, downbeat=pos == 1, bar_position=pos)
            )
        c.downbeat_times.extend([i * bar for i in range(total_bars)])
    c.onset_times.extend([i * period for i in range(n_beats)])
    return c


def boarded_concept() -> concept_pb2.Concept:
    """A verse-chorus-verse grid concept at 120 BPM with timed lyrics and the director's
    storyboard (for the screenwriter's tests)."""
    c = grid_concept(
        120.0, [Part("verse", 8, 0.4, 0), Part("chorus", 8, 0.9, 1), Part("verse", 8, 0.4, 0)]
    )
    c.mood.descriptors.extend(["driving", "dark"])
    for start, text in ((2.0, "rain on the wires"), (18.0, "we light the night"), (34.0, "again")):
        c.lyrics.append(concept_pb2.LyricLine(start=start, end=start + 3.0, text=text))
    c.storyboard.CopyFrom(plan_storyboard(c, seed=1))
    return c
