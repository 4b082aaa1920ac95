"""The director: the concept -> the storyboard (the shot plan every backend renders).

`plan_storyboard(concept, has_characters, seed) -> storyboard_pb2.Storyboard` is pure and
deterministic for a given seed. Cuts and pacing come from `shot_pacing`, what each shot shows
from `shot_design`, the words from `shot_vocabulary`; here the parts are joined into Shot
messages: times, bar numbers on the downbeat grid, the section, the key moment the shot falls
under (the one at or before its start), its mean intensity, a seed, and a prompt written by the
key moments' `compose_prompt` with the shot's framing, viewpoint, subject and look words added
to the user's prompt.
"""

from __future__ import annotations

import hashlib

import numpy as np
from lumiere.v1 import concept_pb2
from lumiere.v1 import storyboard_pb2 as sb

from services.common.contract import shot_bars
from services.concept.moments import compose_prompt
from services.concept.shot_design import ShotDesign, design_shots
from services.concept.shot_pacing import (
    ShotSpan,
    cut_grid_mode,
    plan_cuts,
    role_name,
    section_plans,
)
from services.concept.shot_vocabulary import (
    FRAMING_PHRASE,
    LOOK_PHRASES,
    MOVE_PHRASE,
    SUBJECT_IN_FRAMING,
    VIEWPOINTS,
    detect_subject,
    scene_family,
    subject_phrase,
)
from services.concept.structure import SectionInfo

SOURCE = "director"
_EPS = 1e-3


def shot_seed(seed: int, index: int) -> int:
    """A stable 31-bit seed per shot (the same in every process)."""
    digest = hashlib.sha256(f"{seed}:shot:{index}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def moment_role(role: int) -> str:
    """concept_pb2.MomentRole value -> the key moments' role name ("climax")."""
    name = concept_pb2.MomentRole.Name(role).removeprefix("MOMENT_ROLE_").lower()
    return "build" if name == "unspecified" else name


def _section_info(section: concept_pb2.Section | None) -> SectionInfo | None:
    if section is None:
        return None
    return SectionInfo(
        section.start,
        section.end,
        role_name(section.role),
        section.label,
        section.repeat_group,
        section.energy,
    )


def shot_words(design: ShotDesign, subject: str, family: str) -> str:
    """The shot's own words: framing (with the subject in it), viewpoint, move and look."""
    vp = {v.name: v.phrase for v in VIEWPOINTS.get(family, ())}.get(design.viewpoint, "")
    framing = FRAMING_PHRASE[design.framing]
    parts = [framing]
    if design.subject and subject:
        parts.append(SUBJECT_IN_FRAMING[design.framing].format(s=subject_phrase(subject)))
    parts += [vp, MOVE_PHRASE.get(design.move, ""), LOOK_PHRASES[design.look]]
    return ", ".join(p for p in parts if p)


class _SpanMean:
    """Mean of a curve over time spans, from one cumulative sum."""

    def __init__(self, curve: concept_pb2.Curve) -> None:
        self.rate = curve.rate_hz
        self.cum = np.concatenate([[0.0], np.cumsum(np.asarray(curve.values, dtype=float))])

    def __call__(self, a: float, b: float) -> float:
        n = self.cum.size - 1
        if n == 0 or self.rate <= 0:
            return 0.0
        i = min(int(a * self.rate), n - 1)
        j = min(max(i + 1, int(b * self.rate)), n)
        return float(np.clip((self.cum[j] - self.cum[i]) / (j - i), 0.0, 1.0))


def plan_storyboard(
    concept: concept_pb2.Concept, has_characters: bool = False, seed: int = 0
) -> sb.Storyboard:
    """The storyboard for `concept` (its prompt, sections, beats, key moments, mood).

    Inputs read: duration_seconds, tempo_bpm, tempo_confidence, beats, downbeat_times,
    onset_times, intensity, sections, key_moments, mood.descriptors, prompt. `has_characters`:
    character images are the subject. The result's shots tile [0, duration_seconds).
    """
    spans: list[ShotSpan] = plan_cuts(concept, seed)
    mode = cut_grid_mode(concept)
    plans = section_plans(concept)
    subject = detect_subject(concept.prompt, has_characters)
    family = scene_family(concept.prompt)
    designs = design_shots(spans, plans, family, bool(subject), seed, free=mode == "free")
    board = sb.Storyboard(subject=subject, source=SOURCE, scene_family=family, cut_grid=mode)
    moments = sorted(concept.key_moments, key=lambda m: m.time)
    moment_times = np.array([m.time for m in moments])
    mood = list(concept.mood.descriptors)
    slot_seed: dict[tuple[int, int], int] = {}
    mean_intensity = _SpanMean(concept.intensity)
    for i, (span, d) in enumerate(zip(spans, designs, strict=True)):
        start = round(span.start, 4)
        end = round(spans[i + 1].start, 4) if i + 1 < len(spans) else concept.duration_seconds
        first_bar, end_bar = shot_bars(concept.downbeat_times, start, end)
        k = int(np.searchsorted(moment_times, start + _EPS, side="right")) - 1
        moment = moments[max(k, 0)] if moments else None
        section = concept.sections[span.section] if span.section >= 0 else None
        intensity = mean_intensity(start, end)
        base = ", ".join(
            p for p in (concept.prompt.strip().rstrip("."), shot_words(d, subject, family)) if p
        )
        role = moment_role(moment.role) if moment else "build"
        own_seed = shot_seed(seed, i)
        if d.reuse_seed or d.slot not in slot_seed:
            own_seed = slot_seed.setdefault(d.slot, own_seed)
        board.shots.append(
            sb.Shot(
                id=f"shot-{i + 1:03d}",
                index=i,
                start_time=start,
                end_time=end,
                start_bar=first_bar,
                end_bar=end_bar,
                section_index=span.section,
                framing=d.framing,
                move=d.move,
                look=d.look,
                viewpoint=d.viewpoint,
                prompt=compose_prompt(
                    base, role, _section_info(section), intensity, mood, concept.tempo_bpm
                ),
                subject=d.subject,
                entry=d.entry,
                intensity=round(intensity, 3),
                seed=own_seed,
                key_moment_id=moment.id if moment else "",
                quick=span.quick,
            )
        )
    return board
