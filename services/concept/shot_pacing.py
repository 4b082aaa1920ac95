"""Where the cuts go: the song cut into shot spans on its bar grid, paced by the music.

`plan_cuts(concept, seed) -> list[ShotSpan]` (pure; a Concept from `analysis.analyse` or built
by hand). The spans tile [0, duration): the first starts at 0 (a pickup before the first
downbeat belongs to the first shot), each ends where the next starts, the last ends at the song
end. The rules, in order:

1. The grid. A confident beat (tempo_confidence >= CONFIDENT_BEAT) cuts on downbeats; an
   uncertain one (>= SOME_BEAT) on the strongest beat near each bar start; no beat at all
   ("free") on section changes, onsets and phrase lengths. A section whose own beat is not
   confident (Section.tempo_confidence < SOME_BEAT, e.g. a rubato interlude) is cut free even
   when the song's beat is.
2. Section boundaries are cuts, snapped to the nearest grid point.
3. Pacing per section from its drive (loudness in the song and absolute, onset density, role;
   `section_drive`): a target shot length from ~7 s (calm) down to ~2 s (loud), turned into bars
   per shot (1-2 bars when loud, 2-4 when calm, never above MAX_SHOT_S), laid out phrase by
   phrase (4 bars) with seeded patterns. Sections of one repeat group reuse their patterns, so
   a returning chorus is cut like the first.
4. Quick cuts: the last bar before a clearly louder section or a drop, or a bar with a fill
   (onset burst), is split on its beats (half bars; half + two quarters into a drop).
5. No shot longer than MAX_SHOT_S (split on the grid, else beats, onsets, evenly); no shot
   shorter than MIN_SHOT_S except the quick cuts (merged into a neighbour).
"""

from __future__ import annotations

import functools
import itertools
import math
import statistics
from dataclasses import dataclass

import numpy as np
from lumiere.v1 import concept_pb2

from services.common.contract import CONFIDENT_BEAT, SOME_BEAT

MAX_SHOT_S = 12.0
MIN_SHOT_S = 0.5
LOUD_DRIVE = 0.65
CALM_DRIVE = 0.35
# A section whose drive is this much above the current one is a build target (quick cuts).
RISE = 0.2
BIG_RISE = 0.4
PHRASE_BARS = 4
# Target shot length: SLOW_S at drive 0 down to FAST_S at drive FULL_DRIVE and above, on a
# curve that keeps middling sections (verses) near 2 bars and saves the fastest cutting for
# the loudest ones.
SLOW_S = 7.5
FAST_S = 1.8
FULL_DRIVE = 0.85
# Free time (no beat): phrase-length shots, calm -> loud.
FREE_SLOW_S = 9.0
FREE_FAST_S = 5.0
_EPS = 1e-3


@dataclass(frozen=True)
class ShotSpan:
    start: float
    end: float
    section: int  # index into concept.sections; -1 when the concept has none
    cut: str  # the cut at `start`: "open", "section", "bar", "quick", "split", "phrase"
    quick: bool = False  # a deliberate quick cut (shorter than a bar)
    build: bool = False  # in the run-up to a louder section

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class SectionPlan:
    index: int
    start: float
    end: float
    drive: float  # 0 calm .. 1 loud and dense
    group: int
    role: str  # "chorus", "verse", ... ("" when unknown)


def role_name(role: int) -> str:
    """concept_pb2.SectionRole value -> "chorus" ("" for unspecified)."""
    name = concept_pb2.SectionRole.Name(role).removeprefix("SECTION_ROLE_").lower()
    return "" if name == "unspecified" else name


def cut_grid_mode(concept: concept_pb2.Concept) -> str:
    """ "downbeats", "strong_beats" or "free" (see the module docstring)."""
    if len(concept.downbeat_times) < 2 or concept.tempo_confidence < SOME_BEAT:
        return "free"
    return "downbeats" if concept.tempo_confidence >= CONFIDENT_BEAT else "strong_beats"


def section_has_beat(section: concept_pb2.Section) -> bool:
    """The section's own beat confidence, where the concept has one, is at least SOME_BEAT."""
    return not section.HasField("tempo_confidence") or section.tempo_confidence >= SOME_BEAT


def strong_beat_grid(concept: concept_pb2.Concept) -> np.ndarray:
    """Per downbeat, the strongest beat within about a beat of it (the downbeat wins ties)."""
    db = np.asarray(concept.downbeat_times, dtype=float)
    if not concept.beats:
        return db
    times = np.array([b.time for b in concept.beats])
    strength = np.array([b.strength * (1.1 if b.downbeat else 1.0) for b in concept.beats])
    period = float(np.median(np.diff(times))) if times.size > 1 else 0.5
    # Candidates: the beats around each downbeat's place in the beat list (2 either side).
    at = np.searchsorted(times, db)
    cand = np.clip(at[:, None] + np.arange(-2, 3)[None, :], 0, times.size - 1)
    near = np.abs(times[cand] - db[:, None]) <= 1.05 * period
    score = np.where(near, strength[cand], -1.0)
    best = times[cand[np.arange(db.size), np.argmax(score, axis=1)]]
    return np.unique(np.where(near.any(axis=1), best, db))


def grid_times(concept: concept_pb2.Concept, mode: str) -> np.ndarray:
    if mode == "downbeats":
        return np.unique(np.asarray(concept.downbeat_times, dtype=float))
    if mode == "strong_beats":
        return strong_beat_grid(concept)
    return np.zeros(0)


def _curve_mean(curve: concept_pb2.Curve, a: float, b: float) -> float:
    if not curve.values or curve.rate_hz <= 0:
        return 0.0
    i = int(a * curve.rate_hz)
    j = max(i + 1, int(b * curve.rate_hz))
    seg = curve.values[i:j]
    return float(np.mean(seg)) if len(seg) else float(curve.values[-1])


def section_drive(energies: np.ndarray, roles: list[str], onset_rates: np.ndarray) -> np.ndarray:
    """0..1 per section: how loud and dense it is, in the song and absolutely.

    Relative loudness dominates (a verse is calmer than its chorus even in a loud song); the
    absolute level keeps a loud song brisk throughout; onset density (per second) and the role
    (drops and choruses push, intros, outros and breakdowns hold back) nudge it.
    """
    e = np.asarray(energies, dtype=float)
    if e.size == 0:
        return e
    span = float(e.max() - e.min())
    rel = (e - e.min()) / span if span > 0.08 else np.full(e.size, 0.5)
    absolute = np.clip((e - 0.3) / 0.55, 0.0, 1.0)
    dens = np.clip((np.asarray(onset_rates, dtype=float) - 1.0) / 5.0, 0.0, 1.0)
    bonus = {"drop": 0.15, "chorus": 0.08, "intro": -0.1, "outro": -0.1, "breakdown": -0.15}
    role = np.array([bonus.get(r, 0.0) for r in roles])
    return np.clip(0.35 * absolute + 0.5 * rel + 0.15 * dens + role, 0.0, 1.0)


def section_plans(concept: concept_pb2.Concept) -> list[SectionPlan]:
    """The concept's sections with their drive (one whole-song section when there are none)."""
    dur = concept.duration_seconds
    onsets = np.asarray(concept.onset_times, dtype=float)
    secs = list(concept.sections)
    if not secs:
        secs = [
            concept_pb2.Section(start=0.0, end=dur, energy=_curve_mean(concept.intensity, 0.0, dur))
        ]
    energies = np.array([s.energy for s in secs])
    roles = [role_name(s.role) for s in secs]
    rates = np.array(
        [
            np.count_nonzero((onsets >= s.start) & (onsets < s.end)) / max(s.end - s.start, 1e-6)
            for s in secs
        ]
    )
    drive = section_drive(energies, roles, rates)
    index_of = (lambda k: k) if concept.sections else (lambda k: -1)
    return [
        SectionPlan(index_of(k), s.start, s.end, float(drive[k]), s.repeat_group, roles[k])
        for k, s in enumerate(secs)
    ]


def snap_bounds(plans: list[SectionPlan], grid: np.ndarray, duration: float) -> list[float]:
    """Section start times on the grid: the first at 0, the others at their nearest grid point;
    a section that snapping leaves empty gets the start of the next one (it vanishes)."""
    starts = [0.0]
    for p in plans[1:]:
        t = p.start
        if grid.size:
            t = float(grid[int(np.argmin(np.abs(grid - t)))])
        starts.append(min(max(t, starts[-1]), duration))
    return starts


def bar_units(a: float, b: float, grid: np.ndarray, bar_s: float, duration: float) -> list[float]:
    """Bar start times in [a, b) on the grid (a first); a short pickup at the song start and a
    short ring-out at its end join their neighbour bar."""
    inner = [float(g) for g in grid if a + _EPS < g < b - _EPS]
    pts = [a] + inner
    if a <= _EPS and len(pts) > 1 and pts[1] - pts[0] < 0.75 * bar_s:
        del pts[1]  # the pickup belongs to the first bar
    if b >= duration - _EPS and len(pts) > 1 and b - pts[-1] < 0.75 * bar_s:
        del pts[-1]  # the ring-out tail belongs to the last bar
    # Slivers between two grid points (a doubled downbeat) join the previous bar.
    out = [pts[0]]
    for t in pts[1:]:
        if t - out[-1] >= 0.5 * bar_s:
            out.append(t)
    return out


@functools.cache
def compositions(n: int, k: int, lo: int, hi: int) -> list[tuple[int, ...]]:
    """All ordered ways to write n as k parts, each in [lo, hi]."""
    return [
        c
        for c in itertools.product(range(lo, hi + 1), repeat=k)
        if sum(c) == n  # n <= PHRASE_BARS, so this stays tiny
    ]


def phrase_parts(n: int, r: float, lo: int, hi: int, rng: np.random.Generator) -> tuple[int, ...]:
    """Bars per shot for a phrase of n bars at about r bars per shot, within [lo, hi] bars.

    The shot count is r rounded stochastically (the mean matches r); among the patterns with
    that count, even ones ([2, 2], [1, 1, 1, 1]) are preferred."""
    k = int(np.clip(math.floor(n / r + rng.random()), 1, n))
    for bounds in ((lo, hi), (1, hi), (1, max(hi, n))):
        for kk in sorted(range(1, n + 1), key=lambda x: (abs(x - k), -x)):
            cands = compositions(n, kk, *bounds)
            if cands:
                weights = np.array([3.0 if len(set(c)) == 1 else 1.0 for c in cands])
                return cands[int(rng.choice(len(cands), p=weights / weights.sum()))]
    return (n,)


def beat_near(beats: np.ndarray, t: float, lo: float, hi: float) -> float:
    """The beat inside (lo, hi) nearest t, else t."""
    inside = beats[(beats > lo + 0.1 * (hi - lo)) & (beats < hi - 0.1 * (hi - lo))]
    return float(inside[np.argmin(np.abs(inside - t))]) if inside.size else t


def quick_cuts(a: float, b: float, beats: np.ndarray, into_drop: bool) -> list[float]:
    """Quick cut times inside the bar [a, b): its middle beat (the shot before it runs into the
    bar), and into a drop also the beat between that and the bar's end when the pieces stay
    >= 0.45 s: ... | half | quarter | quarter || drop."""
    mid = beat_near(beats, (a + b) / 2, a, b)
    cuts = [mid]
    if into_drop and (b - mid) / 2 >= 0.45:
        cuts.append(beat_near(beats, (mid + b) / 2, mid, b))
    return [t for t in cuts if a + 0.3 < t < b - 0.3]


def _fill_bar(onsets: np.ndarray, bars: list[float], end: float) -> bool:
    """The section's last bar has an onset burst (a drum fill)."""
    if len(bars) < 3:
        return False
    counts = np.diff(np.searchsorted(onsets, [*bars, end]))
    base = float(np.median(counts[:-1]))
    return bool(counts[-1] >= 1.5 * base and counts[-1] >= base + 3)


@dataclass
class _Cut:
    time: float
    kind: str
    quick: bool = False
    build: bool = False


def _grid_section_cuts(
    plan: SectionPlan,
    a: float,
    b: float,
    nxt: SectionPlan | None,
    grid: np.ndarray,
    beats: np.ndarray,
    onsets: np.ndarray,
    duration: float,
    song_bar_s: float,
    patterns: dict[tuple[int, int, int], tuple[int, ...]],
    rng: np.random.Generator,
) -> list[_Cut]:
    bars = bar_units(a, b, grid, song_bar_s, duration)
    # This section's own bar length (tempo may change at a section).
    bar_s = statistics.median(np.diff([*bars, b]).tolist()) if len(bars) >= 3 else song_bar_s
    lo, hi = (1, 2) if plan.drive >= LOUD_DRIVE else (2, 4)
    hi = max(1, min(hi, int(MAX_SHOT_S // max(bar_s, 1e-3))))
    lo = min(lo, hi)
    target = SLOW_S - (SLOW_S - FAST_S) * min(plan.drive / FULL_DRIVE, 1.0) ** 1.5
    r = float(np.clip(target / bar_s, lo, hi))
    starts: list[int] = []  # bar indices where shots start
    for p, i0 in enumerate(range(0, len(bars), PHRASE_BARS)):
        n = min(PHRASE_BARS, len(bars) - i0)
        key = (plan.group, p, n)
        if key not in patterns:
            patterns[key] = phrase_parts(n, r, lo, hi, rng)
        i = i0
        for part in patterns[key]:
            starts.append(i)
            i += part
    rise = (nxt.drive - plan.drive) if nxt else 0.0
    into_drop = nxt is not None and nxt.role == "drop" and rise > 0.05
    build = rise >= RISE or into_drop
    fill = nxt is not None and _fill_bar(onsets, bars, b)
    build_from = bars[max(0, len(bars) - PHRASE_BARS)] if build else math.inf
    cuts = [
        _Cut(bars[i], "section" if i == 0 else "bar", build=bars[i] >= build_from - _EPS)
        for i in starts
    ]
    # Quick cuts close a phrase or more (a two-bar link gets none: it would be all cuts).
    if (build or fill) and len(bars) >= PHRASE_BARS:
        quick = quick_cuts(bars[-1], b, beats, into_drop or rise >= BIG_RISE)
        if quick and cuts[-1].time >= bars[-1] - _EPS:
            cuts[-1].quick = True  # the bar's first piece is shorter than a bar too
        cuts += [_Cut(t, "quick", quick=True, build=build) for t in quick]
    return cuts


def _free_section_cuts(plan: SectionPlan, a: float, b: float, onsets: np.ndarray) -> list[_Cut]:
    """No beat: phrase-length shots, each cut moved to a nearby onset."""
    length = b - a
    target = FREE_SLOW_S - (FREE_SLOW_S - FREE_FAST_S) * plan.drive
    n = max(1, round(length / target), math.ceil(length / MAX_SHOT_S - 1e-9))
    cuts = [_Cut(a, "section")]
    step = length / n
    for k in range(1, n):
        ideal = a + k * step
        near = onsets[np.abs(onsets - ideal) <= 0.25 * step]
        t = float(near[np.argmin(np.abs(near - ideal))]) if near.size else ideal
        if t - cuts[-1].time >= 1.0 and b - t >= 1.0:
            cuts.append(_Cut(t, "phrase"))
    return cuts


def _split_long(
    a: float, b: float, grid: np.ndarray, beats: np.ndarray, onsets: np.ndarray
) -> list[float]:
    """Cut times that bring [a, b) under MAX_SHOT_S: grid points, else beats, onsets, evenly."""
    if b - a <= MAX_SHOT_S:
        return []
    mid = (a + b) / 2
    for pts in (grid, beats, onsets):
        inside = pts[(pts > a + MIN_SHOT_S * 2) & (pts < b - MIN_SHOT_S * 2)]
        if inside.size:
            t = float(inside[np.argmin(np.abs(inside - mid))])
            break
    else:
        t = mid
    return _split_long(a, t, grid, beats, onsets) + [t] + _split_long(t, b, grid, beats, onsets)


def plan_cuts(concept: concept_pb2.Concept, seed: int = 0) -> list[ShotSpan]:
    """The shot spans of the song (see the module docstring)."""
    duration = float(concept.duration_seconds)
    if duration <= 0:
        return []
    mode = cut_grid_mode(concept)
    grid = grid_times(concept, mode)
    grid = grid[(grid > _EPS) & (grid < duration - _EPS)]
    beats = np.array([b.time for b in concept.beats]) if concept.beats else np.zeros(0)
    onsets = np.asarray(concept.onset_times, dtype=float)
    plans = section_plans(concept)
    bar_s = float(np.median(np.diff(grid))) if grid.size >= 2 else duration
    starts = snap_bounds(plans, grid, duration) + [duration]
    rng = np.random.default_rng([seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF, 0x5C07])
    patterns: dict[tuple[int, int, int], tuple[int, ...]] = {}
    cuts: list[tuple[_Cut, int]] = []
    for k, plan in enumerate(plans):
        a, b = starts[k], starts[k + 1]
        if b - a <= _EPS:
            continue  # snapped away
        nxt = plans[k + 1] if k + 1 < len(plans) else None
        beatless = plan.index >= 0 and not section_has_beat(concept.sections[plan.index])
        if mode == "free" or beatless:
            sec_cuts = _free_section_cuts(plan, a, b, onsets)
        else:
            sec_cuts = _grid_section_cuts(
                plan, a, b, nxt, grid, beats, onsets, duration, bar_s, patterns, rng
            )
        cuts += [(c, plan.index) for c in sec_cuts]
    cuts[0][0].kind = "open"
    ends = [c.time for c, _sec in cuts[1:]] + [duration]
    spans = [
        ShotSpan(c.time, end, sec, c.kind, c.quick, c.build)
        for (c, sec), end in zip(cuts, ends, strict=True)
    ]
    return merge_short(split_long(spans, grid, beats, onsets))


def split_long(
    spans: list[ShotSpan], grid: np.ndarray, beats: np.ndarray, onsets: np.ndarray
) -> list[ShotSpan]:
    out: list[ShotSpan] = []
    for s in spans:
        times = [s.start, *_split_long(s.start, s.end, grid, beats, onsets), s.end]
        for i, (a, b) in enumerate(itertools.pairwise(times)):
            cut = s.cut if i == 0 else "split"
            out.append(ShotSpan(a, b, s.section, cut, s.quick, s.build))
    return out


def merge_short(spans: list[ShotSpan]) -> list[ShotSpan]:
    """Shots under MIN_SHOT_S that are not quick cuts join a neighbour in their section."""
    out = list(spans)
    i = 0
    while i < len(out):
        s = out[i]
        if s.duration >= MIN_SHOT_S or s.quick or len(out) == 1:
            i += 1
            continue
        prev_ok = i > 0 and out[i - 1].section == s.section and s.cut not in ("section", "open")
        if prev_ok:
            p = out[i - 1]
            out[i - 1] = ShotSpan(p.start, s.end, p.section, p.cut, p.quick, p.build)
            del out[i]
        elif i + 1 < len(out) and out[i + 1].section == s.section:
            n = out[i + 1]
            out[i] = ShotSpan(s.start, n.end, s.section, s.cut, n.quick, s.build or n.build)
            del out[i + 1]
        else:
            i += 1
    return out
