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


@dataclass
class Moment:
    time: float
    role: str  # intro, build, climax, bridge, peak, resolution
    intensity: float
    section_index: int
    prompt: str
    description: str


def _intensity_word(x: float) -> str:
    if x > 0.8:
        return "very high energy, fast motion"
    if x > 0.6:
        return "high energy, lively motion"
    if x > 0.4:
        return "moderate energy, flowing motion"
    if x > 0.2:
        return "low energy, slow drifting motion"
    return "very calm, almost still"


def _mmss(t: float) -> str:
    return f"{int(t // 60)}:{t % 60:04.1f}"


def _snap(t: float, grid: np.ndarray, tol: float) -> float:
    if grid.size == 0:
        return t
    k = int(np.argmin(np.abs(grid - t)))
    return float(grid[k]) if abs(grid[k] - t) <= tol else t


def _climax_time(
    intensity: np.ndarray, rate: float, downbeats: np.ndarray, duration: float
) -> float:
    """Start of the loudest ~8 s passage, snapped back to the downbeat that begins it."""
    if intensity.size == 0:
        return 0.0
    win = max(1, int(round(8.0 * rate)))
    smooth = np.convolve(intensity, np.ones(win) / win, mode="valid")
    start = float(np.argmax(smooth)) / rate
    before = downbeats[downbeats <= start + 0.5]
    t = float(before[-1]) if before.size else start
    return min(t, max(0.0, duration - MIN_GAP_S))


def select_times(
    count: int,
    duration: float,
    sections: Sequence[SectionInfo],
    downbeats: np.ndarray,
    intensity: np.ndarray,
    rate: float,
    gap: float = MIN_GAP_S,
) -> list[float]:
    """Strictly increasing times, first 0, all < duration - gap/2, spaced >= gap."""
    last_ok = max(0.0, duration - gap)
    possible = int(last_ok // gap) + 1
    count = max(1, min(count, possible))
    chosen = [0.0]

    def fits(t: float) -> bool:
        return 0.0 <= t <= last_ok and all(abs(t - c) >= gap for c in chosen)

    climax = _climax_time(intensity, rate, downbeats, duration)
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
            inside = downbeats[(downbeats > a + gap) & (downbeats < min(b, duration) - gap)]
            cand_t = float(inside[np.argmin(np.abs(inside - mid))]) if inside.size else mid
            if fits(cand_t):
                chosen.append(cand_t)
                placed = True
                break
        if not placed:
            break
    return sorted(chosen)


def assign_roles(intensities: Sequence[float], section_roles: Sequence[str]) -> list[str]:
    n = len(intensities)
    if n == 0:
        return []
    roles = ["build"] * n
    roles[0] = "intro"
    if n == 1:
        return roles
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
    count: int,
    duration: float,
    sections: Sequence[SectionInfo],
    downbeats: np.ndarray,
    intensity: np.ndarray,
    rate: float,
    user_prompt: str,
    mood_words: Sequence[str],
    tempo: float,
) -> list[Moment]:
    count = count if count > 0 else DEFAULT_COUNT
    times = select_times(count, duration, sections, downbeats, intensity, rate)
    starts = np.array([s.start for s in sections]) if sections else np.zeros(0)
    sec_idx = [int(np.searchsorted(starts, t + 1e-6) - 1) if starts.size else -1 for t in times]
    ints = []
    for k, t in enumerate(times):
        end = times[k + 1] if k + 1 < len(times) else duration
        end = min(end, t + 8.0)
        a, b = int(t * rate), max(int(t * rate) + 1, int(end * rate))
        ints.append(float(np.clip(intensity[a:b].mean(), 0, 1)) if intensity.size else 0.0)
    sec_roles = [sections[i].role if i >= 0 else "" for i in sec_idx]
    roles = assign_roles(ints, sec_roles)
    out = []
    for k, t in enumerate(times):
        sec = sections[sec_idx[k]] if sec_idx[k] >= 0 else None
        prompt = compose_prompt(user_prompt, roles[k], sec, ints[k], mood_words, tempo)
        label = sec.label if sec else "song"
        desc = f"{roles[k]} at {_mmss(t)} ({label}, intensity {ints[k]:.2f})"
        out.append(Moment(t, roles[k], ints[k], sec_idx[k], prompt, desc))
    return out
