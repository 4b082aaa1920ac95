"""Key moments: where the video's keyframes go, and the prompt for each.

Defaults follow the music: the intro at 0, every section start, the climax (the loudest passage)
and drops, all on downbeats; when the song has fewer landmarks than requested, the longest gaps
are split at phrase-level downbeats; when it has more, the biggest changes win. Consecutive
moments are at least MIN_GAP_S apart because video segments run from one moment to the next.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from services.concept.structure import SectionInfo
from services.concept.wording import band_word

DEFAULT_COUNT = 7
MIN_GAP_S = 2.0

SECTION_PHRASE = {
    "intro": "the opening",
    "verse": "a verse",
    "chorus": "the chorus",
    "bridge": "the bridge",
    "breakdown": "a breakdown",
    "drop": "the drop",
    "outro": "the closing",
}
ROLE_PHRASE = {
    "intro": "establishing shot, the world is introduced",
    "build": "tension building, elements gathering",
    "climax": "the most intense moment, full spectacle",
    "bridge": "a change of scene, a contrasting view",
    "peak": "a second high point, vivid and bold",
    "resolution": "resolution, the scene settles",
}


@dataclass(frozen=True)
class SongShape:
    """What placing moments reads of the analysis: the timeline and its landmarks."""

    duration: float
    sections: Sequence[SectionInfo]
    downbeats: np.ndarray
    intensity: np.ndarray  # 0..1 at `rate` values per second
    rate: float


@dataclass
class Moment:
    time: float
    role: str  # intro, build, climax, bridge, peak, resolution
    intensity: float
    section_index: int
    prompt: str
    description: str


INTENSITY_WORDS = (
    (0.8, "very high energy, fast motion"),
    (0.6, "high energy, lively motion"),
    (0.4, "moderate energy, flowing motion"),
    (0.2, "low energy, slow drifting motion"),
)


def _intensity_word(x: float) -> str:
    return band_word(x, INTENSITY_WORDS, "very calm, almost still")


def _mmss(t: float) -> str:
    return f"{int(t // 60)}:{t % 60:04.1f}"


def climax_time(song: SongShape) -> float:
    """Where the climax starts: the loudest section's start (later ones win near-ties).

    In a long section (> 30 s) the loudest ~8 s passage inside it is used instead, moved back
    to the downbeat that begins it.
    """
    sections, intensity, rate, downbeats, duration = (
        song.sections,
        song.intensity,
        song.rate,
        song.downbeats,
        song.duration,
    )
    if intensity.size == 0:
        return 0.0
    cands = list(sections) or [SectionInfo(0.0, duration, "verse", "song", 0, 0.0)]
    # Prefer the later of two equally loud sections (final choruses are the climax).
    score = [s.energy * (1.0 + 0.05 * s.start / max(duration, 1e-6)) for s in cands]
    best = cands[int(np.argmax(score))]
    t = best.start
    if best.end - best.start > 30.0:
        win = max(1, int(round(8.0 * rate)))
        a, b = int(best.start * rate), max(int(best.start * rate) + 1, int(best.end * rate))
        seg = intensity[a:b]
        if seg.size > win:
            smooth = np.convolve(seg, np.ones(win) / win, mode="valid")
            peak = best.start + float(np.argmax(smooth)) / rate
            before = downbeats[downbeats <= peak + 0.05]
            t = float(before[-1]) if before.size and before[-1] >= best.start else best.start
    return min(t, max(0.0, duration - MIN_GAP_S))


def select_times(count: int, song: SongShape, gap: float = MIN_GAP_S) -> list[float]:
    """Strictly increasing times, first 0, all < duration - gap/2, spaced >= gap."""
    duration, sections, downbeats = song.duration, song.sections, song.downbeats
    last_ok = max(0.0, duration - gap)
    possible = int(last_ok // gap) + 1
    count = max(1, min(count, possible))
    chosen = [0.0]

    def fits(t: float) -> bool:
        return 0.0 <= t <= last_ok and all(abs(t - c) >= gap for c in chosen)

    climax = climax_time(song)
    cands: list[tuple[float, float]] = []  # (priority, time)
    cands.append((10.0, climax))
    for i, s in enumerate(sections[1:], start=1):
        change = abs(s.energy - sections[i - 1].energy)
        bonus = {"drop": 2.0, "chorus": 1.0, "breakdown": 0.8, "bridge": 0.6, "outro": 0.5}.get(
            s.role, 0.3
        )
        cands.append((bonus + 3.0 * change, s.start))
    for _prio, t in sorted(cands, key=lambda c: -c[0]):
        if len(chosen) >= count:
            break
        if fits(t):
            chosen.append(t)
    # Fill: split the widest gap at the downbeat nearest its middle (phrase-ish positions).
    guard = 0
    while len(chosen) < count and guard < 200:
        guard += 1
        pts = sorted(chosen) + [duration]
        widths = np.diff(pts)
        order = np.argsort(-widths)
        placed = False
        for k in order:
            a, b = pts[k], pts[k + 1]
            mid = (a + b) / 2
            eps = 1e-6
            inside = downbeats[(downbeats >= a + gap - eps) & (downbeats <= b - gap + eps)]
            cand_t = float(inside[np.argmin(np.abs(inside - mid))]) if inside.size else mid
            if fits(cand_t):
                chosen.append(cand_t)
                placed = True
                break
        if not placed:
            break
    if len(chosen) < count:
        # Too many moments for the landmarks to carry (bars are in the way of a tight
        # packing): an even grid, each point moved to a nearby downbeat where spacing allows.
        step = last_ok / (count - 1)
        grid = [k * step for k in range(count)]
        for k in range(1, count):
            if downbeats.size:
                near = float(downbeats[int(np.argmin(np.abs(downbeats - grid[k])))])
                nxt = grid[k + 1] if k + 1 < count else None
                if (
                    abs(near - grid[k]) <= step / 4
                    and near - grid[k - 1] >= gap
                    and near <= last_ok
                    and (nxt is None or nxt - near >= gap)
                ):
                    grid[k] = near
        return grid
    return sorted(chosen)


def assign_roles(
    intensities: Sequence[float], section_roles: Sequence[str], climax_index: int | None = None
) -> list[str]:
    """The original design's vocabulary: intro first, the climax, builds before it, then peaks and
    bridges (quieter or bridge/breakdown material), and a resolution at the end."""
    n = len(intensities)
    if n == 0:
        return []
    roles = ["build"] * n
    roles[0] = "intro"
    if n == 1:
        return roles
    if climax_index is not None and 0 < climax_index < n:
        peak_i = climax_index
    else:
        peak_i = int(np.argmax(intensities[1:])) + 1
    top = float(intensities[peak_i])
    roles[peak_i] = "climax"
    for i in range(1, n):
        if i == peak_i:
            continue
        low = intensities[i] < 0.75 * top
        if section_roles[i] in ("bridge", "breakdown") or (i > peak_i and low):
            roles[i] = "bridge"
        elif i > peak_i:
            roles[i] = "peak"
        else:
            roles[i] = "build"
    if n >= 3 and peak_i != n - 1:
        roles[-1] = "resolution"
    return roles


def compose_prompt(
    user_prompt: str,
    role: str,
    section: SectionInfo | None,
    intensity: float,
    mood_words: Sequence[str],
    tempo: float,
) -> str:
    base = user_prompt.strip().rstrip(".") or "a music video"
    where = SECTION_PHRASE.get(section.role, "the song") if section else "the song"
    parts = [
        base,
        f"{ROLE_PHRASE[role]} ({where})",
        _intensity_word(intensity),
        ", ".join(mood_words) + " mood" if mood_words else "",
        f"{tempo:.0f} BPM pulse",
    ]
    return "; ".join(p for p in parts if p)


def key_moments(
    count: int, song: SongShape, user_prompt: str, mood_words: Sequence[str], tempo: float
) -> list[Moment]:
    duration, sections, intensity, rate = song.duration, song.sections, song.intensity, song.rate
    count = count if count > 0 else DEFAULT_COUNT
    times = select_times(count, song)
    climax = climax_time(song)
    climax_index = next((k for k, t in enumerate(times) if abs(t - climax) < 1e-6), None)
    starts = np.array([s.start for s in sections]) if sections else np.zeros(0)
    sec_idx = [int(np.searchsorted(starts, t + 1e-6) - 1) if starts.size else -1 for t in times]
    ints = []
    for k, t in enumerate(times):
        end = times[k + 1] if k + 1 < len(times) else duration
        end = min(end, t + 8.0)
        a, b = int(t * rate), max(int(t * rate) + 1, int(end * rate))
        ints.append(float(np.clip(intensity[a:b].mean(), 0, 1)) if intensity.size else 0.0)
    sec_roles = [sections[i].role if i >= 0 else "" for i in sec_idx]
    roles = assign_roles(ints, sec_roles, climax_index)
    out = []
    for k, t in enumerate(times):
        sec = sections[sec_idx[k]] if sec_idx[k] >= 0 else None
        prompt = compose_prompt(user_prompt, roles[k], sec, ints[k], mood_words, tempo)
        label = sec.label if sec else "song"
        desc = f"{roles[k]} at {_mmss(t)} ({label}, intensity {ints[k]:.2f})"
        out.append(Moment(t, roles[k], ints[k], sec_idx[k], prompt, desc))
    return out
