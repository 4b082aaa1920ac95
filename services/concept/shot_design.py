"""What each shot shows: framing, camera move, look, viewpoint, subject and the cut into it.

`design_shots(spans, plans, family, has_subject, seed) -> list[ShotDesign]` (pure). Choices
follow the music:

- framing: a wide establishing shot opens the video and every section; then a sequence from
  the section's pace (calm: scene-led, medium/detail/wide; loud: subject and close-ups, with
  abstract/effect inserts); quick cuts are close-ups, details and abstract flashes;
- subject: on screen in subject shots, medium shots and close-ups (about half the shots,
  more in loud sections); if the share falls under SUBJECT_SHARE, the loudest sections'
  scene shots turn into subject shots until it holds; never when there is no subject;
- camera move: from the pace and the framing (calm: crane, pan, slow push-in; loud: handheld,
  locked-off with beat punches, orbit around the subject), push-in through a build, a
  pull-out to end the video;
- look: one per repeat group: vivid looks for the loudest groups, muted ones for the rest, in
  order of appearance; a contrasting neighbour never shares it;
- viewpoint: the scene family's viewpoints for the framing, rotated through the video;
- repeats: the first section of a repeat group is the template; its later sections take the
  template's framing, subject and look shot by shot, with small variation (every third shot
  another move, every fourth another viewpoint), so the second chorus is recognisably the first;
- entry: flash cut into a clearly louder section, crossfade into a calm one and in free time,
  whip pans now and then inside loud sections, plain cuts otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from lumiere.v1 import storyboard_pb2 as sb

from services.concept.shot_pacing import CALM_DRIVE, LOUD_DRIVE, RISE, SectionPlan, ShotSpan
from services.concept.shot_vocabulary import (
    ABSTRACT,
    CLOSE_UP,
    DETAIL,
    LOOK_COUNT,
    MEDIUM,
    MUTED_LOOKS,
    SUBJECT,
    VIVID_LOOKS,
    WIDE,
    viewpoints_for,
)

SUBJECT_SHARE = 0.45  # the subject on screen in at least this share of shots (when there is one)

PUSH_IN = sb.CAMERA_MOVE_PUSH_IN
PULL_OUT = sb.CAMERA_MOVE_PULL_OUT
PAN = sb.CAMERA_MOVE_PAN
TRUCK = sb.CAMERA_MOVE_TRUCK
ORBIT = sb.CAMERA_MOVE_ORBIT
CRANE = sb.CAMERA_MOVE_CRANE
HANDHELD = sb.CAMERA_MOVE_HANDHELD
LOCKED = sb.CAMERA_MOVE_LOCKED

# Framing sequences after a section's opening wide shot, by pace.
FRAMING_SEQUENCES = {
    "calm": (MEDIUM, DETAIL, WIDE, CLOSE_UP, ABSTRACT, MEDIUM, SUBJECT),
    "mid": (MEDIUM, SUBJECT, DETAIL, CLOSE_UP, WIDE, SUBJECT, ABSTRACT),
    "loud": (SUBJECT, CLOSE_UP, ABSTRACT, SUBJECT, MEDIUM, DETAIL, SUBJECT, CLOSE_UP),
}
QUICK_FRAMINGS = (CLOSE_UP, DETAIL, ABSTRACT)
# Framings that show the subject when there is one.
SUBJECT_FRAMINGS = frozenset({SUBJECT, MEDIUM, CLOSE_UP})
# Without a subject, subject shots become scene shots.
NO_SUBJECT = {SUBJECT: MEDIUM}

MOVES = {
    "calm": {
        WIDE: (CRANE, PAN),
        MEDIUM: (PAN, PUSH_IN, TRUCK),
        CLOSE_UP: (PUSH_IN, PAN),
        DETAIL: (PAN, LOCKED),
        SUBJECT: (PUSH_IN, ORBIT),
        ABSTRACT: (ORBIT, PULL_OUT),
    },
    "mid": {
        WIDE: (PAN, TRUCK, CRANE),
        MEDIUM: (TRUCK, PAN, PUSH_IN),
        CLOSE_UP: (PUSH_IN, LOCKED),
        DETAIL: (LOCKED, PAN),
        SUBJECT: (ORBIT, TRUCK, PUSH_IN),
        ABSTRACT: (ORBIT, LOCKED),
    },
    "loud": {
        WIDE: (TRUCK, PUSH_IN, CRANE),
        MEDIUM: (HANDHELD, TRUCK),
        CLOSE_UP: (HANDHELD, LOCKED),
        DETAIL: (LOCKED, HANDHELD),
        SUBJECT: (ORBIT, HANDHELD, LOCKED),
        ABSTRACT: (ORBIT, LOCKED),
    },
}


@dataclass(frozen=True)
class ShotDesign:
    framing: int
    move: int
    look: int
    viewpoint: str
    subject: bool
    entry: int
    # (repeat group, position in the group's template): shots of one slot look alike.
    slot: tuple[int, int] = (-1, -1)
    # A repeated shot whose viewpoint is the template's: it shares the template shot's seed
    # (the same picture under another move).
    reuse_seed: bool = False


def pace(drive: float) -> str:
    return "loud" if drive >= LOUD_DRIVE else "calm" if drive < CALM_DRIVE else "mid"


def group_looks(plans: list[SectionPlan]) -> dict[int, int]:
    """Look per repeat group. The loudest groups (the top third by mean drive, at least one)
    take vivid looks, the others muted ones, each kind in its contrast order (VIVID_LOOKS,
    MUTED_LOOKS) by first appearance: a chorus in full neon against hazy, pale or dark verses,
    and no two groups alike while the looks last. When they run out they cycle, and a section
    never takes the look of the section before it when that belongs to another group."""
    drives: dict[int, list[float]] = {}
    for p in plans:
        drives.setdefault(p.group, []).append(p.drive)
    ranked = sorted(drives, key=lambda g: -float(np.mean(drives[g])))
    vivid = set(ranked[: max(1, round(len(ranked) / 3))])
    used = {True: 0, False: 0}
    looks: dict[int, int] = {}
    prev = -1
    for p in plans:
        if p.group not in looks:
            kind = p.group in vivid
            choices = (VIVID_LOOKS if kind else MUTED_LOOKS) or tuple(range(LOOK_COUNT))
            look = choices[used[kind] % len(choices)]
            used[kind] += 1
            if look == prev and len(choices) > 1:
                look = choices[used[kind] % len(choices)]
                used[kind] += 1
            looks[p.group] = look
        prev = looks[p.group]
    return looks


def _entry(span: ShotSpan, prev_plan: SectionPlan | None, plan: SectionPlan, free: bool) -> int:
    if span.cut == "open":
        return sb.SHOT_ENTRY_CUT
    if free:
        return sb.SHOT_ENTRY_CROSSFADE
    if span.cut == "section" and prev_plan is not None:
        rise = plan.drive - prev_plan.drive
        if rise >= RISE or plan.role == "drop":
            return sb.SHOT_ENTRY_FLASH_CUT
        if plan.drive < CALM_DRIVE and rise <= -RISE:
            return sb.SHOT_ENTRY_CROSSFADE
    if span.quick:
        return sb.SHOT_ENTRY_FLASH_CUT
    return sb.SHOT_ENTRY_CUT


class _Rotor:
    """Rotates through the family's viewpoints per framing, so shots of one framing differ."""

    def __init__(self, family: str, offset: int) -> None:
        self.family = family
        self.offset = offset
        self.count: dict[tuple[int, bool], int] = {}

    def first(self, framing: int) -> str:
        cands = viewpoints_for(self.family, framing)
        return cands[0].name if cands else ""

    def next(self, framing: int, subject: bool) -> str:
        cands = viewpoints_for(self.family, SUBJECT if subject and framing != WIDE else framing)
        cands = cands or viewpoints_for(self.family, framing)
        k = self.count.get((framing, subject), 0)
        self.count[(framing, subject)] = k + 1
        return cands[(k + self.offset) % len(cands)].name if cands else ""


def _fresh(
    spans: list[ShotSpan],
    plan: SectionPlan,
    has_subject: bool,
    rng: np.random.Generator,
    rotor: _Rotor,
    look: int,
    video_open: bool,
) -> list[ShotDesign]:
    """Designs for the first section of a repeat group."""
    kind = pace(plan.drive)
    seq = FRAMING_SEQUENCES[kind]
    start = int(rng.integers(len(seq)))
    out: list[ShotDesign] = []
    k = 0
    for i, span in enumerate(spans):
        if i == 0:
            framing = WIDE
        elif span.quick:
            framing = QUICK_FRAMINGS[(i + start) % len(QUICK_FRAMINGS)]
        else:
            framing = seq[(start + k) % len(seq)]
            k += 1
            if out and framing == out[-1].framing:  # no two alike in a row
                framing = seq[(start + k) % len(seq)]
                k += 1
        if not has_subject:
            framing = NO_SUBJECT.get(framing, framing)
        subject = has_subject and framing in SUBJECT_FRAMINGS
        moves = MOVES[kind][framing]
        move = moves[int(rng.integers(len(moves)))]
        if span.quick:
            move = LOCKED
        elif span.build:
            move = PUSH_IN
        elif i == 0 and video_open:
            move = CRANE if kind == "calm" else PUSH_IN
        # The video opens on the family's archetypal establishing view (skyline, canopy, ...).
        opening = i == 0 and video_open
        viewpoint = rotor.first(WIDE) if opening else rotor.next(framing, subject)
        out.append(ShotDesign(framing, move, look, viewpoint, subject, 0, (plan.group, i)))
    return out


def _repeat(
    spans: list[ShotSpan], template: list[ShotDesign], plan: SectionPlan, rotor: _Rotor
) -> list[ShotDesign]:
    """A later section of a repeat group: the template shot by shot, with small variation."""
    kind = pace(plan.drive)
    out = []
    for i, span in enumerate(spans):
        # Past the template's end, run through it again without its opening wide shot.
        wrap = 1 + (i - 1) % (len(template) - 1) if len(template) > 1 else 0
        t = template[i] if i < len(template) else template[wrap]
        move, viewpoint = t.move, t.viewpoint
        if i % 3 == 2 and not span.quick and not span.build:
            moves = MOVES[kind][t.framing]
            move = moves[(moves.index(move) + 1) % len(moves)] if move in moves else moves[0]
        if i % 4 == 3:
            viewpoint = rotor.next(t.framing, t.subject)
        if span.quick:
            move = LOCKED
        elif span.build:
            move = PUSH_IN
        same = viewpoint == t.viewpoint and i < len(template)
        out.append(replace(t, move=move, viewpoint=viewpoint, reuse_seed=same))
    return out


def design_shots(
    spans: list[ShotSpan],
    plans: list[SectionPlan],
    family: str,
    has_subject: bool,
    seed: int = 0,
    free: bool = False,
) -> list[ShotDesign]:
    """One design per span (see the module docstring). `plans` come from
    `shot_pacing.section_plans` (span.section indexes them by SectionPlan.index)."""
    if not spans:
        return []
    by_index = {p.index: p for p in plans}
    order = [p.index for p in plans]
    looks = group_looks(plans)
    rng = np.random.default_rng([seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF, 0xD351])
    rotor = _Rotor(family, int(rng.integers(64)))
    templates: dict[int, list[ShotDesign]] = {}
    designs: list[ShotDesign] = []
    runs: list[tuple[int, int]] = []  # (first shot, end) per section run
    i = 0
    while i < len(spans):
        j = i
        while j < len(spans) and spans[j].section == spans[i].section:
            j += 1
        runs.append((i, j))
        i = j
    prev_plan: SectionPlan | None = None
    for a, b in runs:
        plan = by_index[spans[a].section]
        run = spans[a:b]
        if plan.group in templates:
            chunk = _repeat(run, templates[plan.group], plan, rotor)
        else:
            chunk = _fresh(run, plan, has_subject, rng, rotor, looks[plan.group], a == 0)
            templates[plan.group] = chunk
        designs += [
            replace(d, entry=_entry(span, prev_plan, plan, free))
            for span, d in zip(run, chunk, strict=True)
        ]
        prev_plan = plan
    if has_subject:
        designs = _ensure_subject_share(spans, designs, by_index, order, family)
    last = designs[-1]
    designs[-1] = replace(last, move=PULL_OUT)
    return designs


def _ensure_subject_share(
    spans: list[ShotSpan],
    designs: list[ShotDesign],
    by_index: dict[int, SectionPlan],
    order: list[int],
    family: str,
) -> list[ShotDesign]:
    """Turn scene shots into subject shots, loudest groups first and template position by
    template position (so repeats stay alike), until SUBJECT_SHARE of the shots show it."""
    out = list(designs)

    def share() -> float:
        return sum(d.subject for d in out) / len(out)

    groups = sorted(
        {by_index[s.section].group: by_index[s.section].drive for s in spans}.items(),
        key=lambda gd: -gd[1],
    )
    # Non-opening scene shots first; opening wide shots only as a last resort.
    for allow_open in (False, True):
        for group, _drive in groups:
            positions = sorted({d.slot[1] for d in out if d.slot[0] == group and not d.subject})
            for pos in positions:
                if share() >= SUBJECT_SHARE:
                    return out
                if pos == 0 and not allow_open:
                    continue
                for k, d in enumerate(out):
                    if d.slot == (group, pos) and not d.subject:
                        framing = d.framing if d.framing in SUBJECT_FRAMINGS else SUBJECT
                        if d.framing == WIDE:
                            framing = WIDE  # the subject small in the establishing shot
                        cands = viewpoints_for(family, SUBJECT)
                        vp = d.viewpoint
                        if framing == SUBJECT and cands and vp not in {c.name for c in cands}:
                            vp = cands[pos % len(cands)].name
                        out[k] = replace(d, framing=framing, subject=True, viewpoint=vp)
    return out
