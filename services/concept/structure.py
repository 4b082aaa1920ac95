"""Sections: boundaries on bar starts from timbre/loudness/harmony novelty, repeats and roles.

Bars (from the downbeats) are the unit, so every boundary is a downbeat by construction. Each bar
gets a feature vector (loudness, band balance, coarse timbre, onset density, chroma) scaled by
the track's own bar-to-bar fluctuation; a boundary is where the bars before and after differ
clearly more than usual (two-window novelty at ~12 s and ~5 s), or where the chord sequence
stops repeating phrase to phrase (harmonic novelty). Sections whose mean features are close
and whose 4-bar chord patterns match form a repeat group (A, B, A ...), and roles come from
position, energy and repetition: intro/outro at the ends when quieter, chorus = the loudest
repeated material, breakdown = a deep dip after loud material, drop = the loud return after a
breakdown, bridge = one-off material in the second half, verse = the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.signal

from services.concept.dynamics import Dynamics
from services.concept.frontend import Frontend
from services.concept.phrases import snap_to_phrases

NOVELTY_HEIGHT = 3.0
NOVELTY_PROMINENCE = 1.0
GROUP_REL_THRESHOLD = 0.3
# Sections whose 4-bar chord patterns differ by more than this (1 - cosine) never repeat.
HARMONY_THRESHOLD = 0.1
INTRO_MARGIN = 0.03  # an intro is quieter than every body section by at least this (0..1)
HARMONY_NOVELTY_WEIGHT = 1.0  # harmonic novelty units count like bar-feature units
ROLES = ("intro", "verse", "chorus", "bridge", "breakdown", "drop", "outro")


@dataclass
class SectionInfo:
    start: float
    end: float
    role: str
    label: str
    group: int
    energy: float


def _span_mean(x: np.ndarray, rate: float, edges: np.ndarray) -> np.ndarray:
    """Mean of x (d, T) at `rate` over consecutive spans given by `edges` seconds -> (n, d)."""
    idx = np.clip(np.rint(edges * rate).astype(int), 0, x.shape[1])
    cs = np.concatenate([np.zeros((x.shape[0], 1)), np.cumsum(x, axis=1)], axis=1)
    out = np.zeros((edges.size - 1, x.shape[0]))
    for i in range(edges.size - 1):
        a, b = idx[i], max(idx[i + 1], idx[i] + 1)
        b = min(b, x.shape[1])
        a = min(a, b - 1)
        out[i] = (cs[:, b] - cs[:, a]) / max(b - a, 1)
    return out


def bar_features(
    fe: Frontend, dyn: Dynamics, chroma: np.ndarray, bar_edges: np.ndarray
) -> np.ndarray:
    """Standardised per-bar features, groups weighted so loudness/instrumentation dominate."""
    rate = dyn.rate_hz
    loud = _span_mean(dyn.loudness_db[None, :], rate, bar_edges)
    bands = _span_mean(np.vstack([dyn.band_low, dyn.band_mid, dyn.band_high]), rate, bar_edges)
    mel = fe.mel_db.reshape(12, -1, fe.mel_db.shape[1]).mean(axis=1)
    timbre = _span_mean(mel, fe.frame_rate, bar_edges)
    onset = _span_mean(np.vstack([fe.onset_env, fe.onset_low]), fe.frame_rate, bar_edges)
    chr_ = _span_mean(chroma, fe.frame_rate, bar_edges)
    chr_ = chr_ / (np.linalg.norm(chr_, axis=1, keepdims=True) + 1e-9)

    def z(a: np.ndarray, weight: float) -> np.ndarray:
        # Scale by the typical bar-to-bar fluctuation (not the global spread), so novelty is
        # in units of "how much bars usually differ": one loud breakdown does not drown a
        # quieter verse->chorus change. Floors keep a perfectly steady track finite.
        local = 1.4826 * np.median(np.abs(np.diff(a, axis=0)), axis=0) if a.shape[0] > 1 else 0
        sd = np.maximum(np.maximum(local, 0.15 * a.std(axis=0)), 1e-3)
        # Per-group weight spread over its dimensions so big groups do not dominate.
        # Clipped so a single odd bar (a stop, a crash) cannot dominate every window.
        return weight * np.clip((a - a.mean(axis=0)) / sd, -12, 12) / np.sqrt(a.shape[1])

    return np.hstack([z(loud, 2.0), z(bands, 1.5), z(timbre, 1.5), z(onset, 1.5), z(chr_, 1.0)])


def novelty(feats: np.ndarray, w: int) -> np.ndarray:
    """Distance between the mean of the w bars before and after each bar start."""
    n = feats.shape[0]
    nov = np.zeros(n)
    for j in range(1, n):
        a = feats[max(0, j - w) : j]
        b = feats[j : min(n, j + w)]
        if a.shape[0] == 0 or b.shape[0] == 0:
            continue
        # Shrink towards 0 near the edges where one window is short.
        k = min(a.shape[0], b.shape[0]) / w
        nov[j] = float(np.linalg.norm(a.mean(axis=0) - b.mean(axis=0))) * (0.5 + 0.5 * k)
    return nov


def harmonic_novelty(bar_chroma: np.ndarray, phrase: int = 4) -> np.ndarray:
    """Where the chord sequence stops repeating, in units of its usual variation.

    Inside a section, bar j usually has the chords of bar j - 4 (the previous phrase); at a
    change of harmony (a bridge on other chords at the same loudness) that stops for a
    phrase. The rise of the lag-4 chroma distance marks the boundary.
    """
    n = bar_chroma.shape[0]
    out = np.zeros(n)
    if n < 2 * phrase + 1:
        return out
    d = np.zeros(n)
    d[phrase:] = 1.0 - np.sum(bar_chroma[phrase:] * bar_chroma[:-phrase], axis=1)
    scale = max(0.05, 1.4826 * float(np.median(np.abs(d[phrase:] - np.median(d[phrase:])))))
    for j in range(2 * phrase, n - phrase + 1):
        out[j] = (d[j : j + phrase].mean() - d[j - phrase : j].mean()) / scale
    return np.maximum(out, 0.0)


def find_boundaries(
    feats: np.ndarray,
    bar_times: np.ndarray,
    bar_chroma: np.ndarray | None = None,
) -> list[int]:
    """Bar indices where sections start (always includes 0), on phrases where supported."""
    n = feats.shape[0]
    if n < 4:
        return [0]
    bar_dur = float(np.median(np.diff(bar_times)))
    # Two scales: a long window spanning whole chord cycles (>= 4 bars, so harmony moving
    # inside a phrase is no change) and a short one (~5 s) that localises changes and still
    # sees short sections (a 4-bar pre-chorus) that the long window smears into a neighbour.
    w = int(np.clip(round(12.0 / max(bar_dur, 1e-3)), 4, 8))
    ws = int(np.clip(round(5.0 / max(bar_dur, 1e-3)), 2, w))
    nov = 0.5 * (novelty(feats, w) + novelty(feats, ws))
    if bar_chroma is not None:
        nov = nov + HARMONY_NOVELTY_WEIGHT * harmonic_novelty(bar_chroma)
    min_gap = max(2, int(round(6.0 / max(bar_dur, 1e-3))))
    # Novelty is in units of the track's own bar-to-bar fluctuation (see bar_features), so
    # absolute thresholds mean "clearly more change than usual"; prominence within the
    # window keeps the shoulders of one big change from becoming boundaries of their own.
    peaks, _ = scipy.signal.find_peaks(
        nov, height=NOVELTY_HEIGHT, prominence=NOVELTY_PROMINENCE, distance=min_gap, wlen=2 * ws + 1
    )
    edge = max(2, min_gap // 2)
    inner = [int(p) for p in peaks if edge <= p <= n - edge]
    return [b for b in snap_to_phrases(inner, feats, bar_times, w) if b <= n - edge]


def harmonic_patterns(bar_chroma: np.ndarray, starts: list[int], n_bars: int) -> list[np.ndarray]:
    """Per section, the mean chroma at each bar position of a 4-bar phrase (4 x 12)."""
    out = []
    for k, i0 in enumerate(starts):
        i1 = starts[k + 1] if k + 1 < len(starts) else n_bars
        bars = bar_chroma[i0:i1]
        pat = np.zeros((4, 12))
        for pos in range(4):
            sel = bars[pos::4]
            pat[pos] = sel.mean(axis=0) if sel.size else bars.mean(axis=0)
        pat /= np.linalg.norm(pat, axis=1, keepdims=True) + 1e-9
        out.append(pat)
    return out


def harmonic_distance(a: np.ndarray, b: np.ndarray) -> float:
    """1 - cosine between two sections' phrase patterns, at the best phrase alignment."""
    return float(min(1.0 - np.mean(np.sum(a * np.roll(b, s, axis=0), axis=1)) for s in range(4)))


def _groups(
    sec_feats: np.ndarray,
    rel_threshold: float = GROUP_REL_THRESHOLD,
    patterns: list[np.ndarray] | None = None,
) -> list[int]:
    """Greedy grouping: same group when closer than a fraction of the median section distance.

    Relative, because feature units depend on the track (how much its bars fluctuate); most
    section pairs in a song are different material, so the median distance is "different".
    """
    n = sec_feats.shape[0]
    if n < 2:
        return [0] * n
    d = np.linalg.norm(sec_feats[:, None, :] - sec_feats[None, :, :], axis=2)
    med = float(np.median(d[np.triu_indices(n, 1)]))
    threshold = rel_threshold * med
    groups: list[int] = []
    founders: list[int] = []  # section index that founded each group (its chord pattern)
    for i in range(n):
        # Distance to the closest member of each group, not to its founder: a song's choruses
        # drift (added layers, a key lift) and each is closest to its neighbours.
        dists = [
            min(float(d[i, j]) for j in range(i) if groups[j] == g) for g in range(len(founders))
        ]
        if patterns is not None:
            # Same loudness and sound but other chords (a bridge) is not a repeat.
            dists = [
                dg
                if harmonic_distance(patterns[i], patterns[founders[g]]) < HARMONY_THRESHOLD
                else np.inf
                for g, dg in enumerate(dists)
            ]
        if dists and min(dists) < threshold:
            groups.append(int(np.argmin(dists)))
        else:
            founders.append(i)
            groups.append(len(founders) - 1)
    return groups


def assign_roles(
    energies: list[float], groups: list[int], starts: list[float], duration: float
) -> list[str]:
    n = len(energies)
    if n == 0:
        return []
    if n == 1:
        return ["verse"]
    e = np.array(energies)
    emax = float(e.max())
    roles = ["verse"] * n
    counts = {g: groups.count(g) for g in set(groups)}
    # Chorus: the loudest group; among groups about as loud (>= 90 %), a repeated one wins.
    group_e = {g: float(np.mean([e[i] for i in range(n) if groups[i] == g])) for g in counts}
    top = max(group_e.values())
    loud = [g for g in counts if group_e[g] >= 0.9 * top]
    chorus_g = max(loud, key=lambda g: (counts[g] > 1, group_e[g]))
    for i in range(n):
        if groups[i] == chorus_g:
            roles[i] = "chorus"
    # Another loud section is a chorus only if its material comes back (a loud one-off is a
    # verse or, later, a bridge): otherwise a song that is loud throughout is all chorus.
    for i in range(n):
        if e[i] >= 0.92 * emax and roles[i] == "verse" and counts[groups[i]] > 1:
            roles[i] = "chorus"
    # Breakdown: a deep dip after loud material, with more music after it; drop: loud return.
    for i in range(1, n - 1):
        if e[i] < 0.7 * emax and e[i] < e[i - 1] - 0.15 and max(e[i + 1 :]) > e[i] + 0.15:
            roles[i] = "breakdown"
            if e[i + 1] >= 0.85 * emax:
                roles[i + 1] = "drop"
    # Bridge: one-off, non-chorus material in the second half.
    for i in range(1, n - 1):
        if roles[i] == "verse" and counts[groups[i]] == 1 and starts[i] > 0.45 * duration:
            roles[i] = "bridge"
    # A drop's repeats are drops too (the first one follows the intro, not a breakdown).
    drop_groups = {groups[i] for i in range(n) if roles[i] == "drop"}
    for i in range(n):
        if groups[i] in drop_groups and roles[i] == "chorus":
            roles[i] = "drop"
    # Intro/outro: quieter material at the ends that the body of the song does not repeat.
    body = set(groups[1:-1])
    quiet_first = e[0] < 0.75 * emax or e[0] <= float(np.median(e)) + 1e-6
    # ...and quieter than the whole body: otherwise it is the first verse (that is not repeated).
    # (breakdowns are dips by definition and do not count).
    body_e = [e[i] for i in range(1, n - 1) if roles[i] != "breakdown"]
    below_body = not body_e or e[0] < min(body_e) - INTRO_MARGIN
    if quiet_first and below_body and (groups[0] not in body or e[0] < 0.5 * emax):
        roles[0] = "intro"
    quiet_last = e[-1] < 0.75 * emax or e[-1] <= float(np.median(e)) + 1e-6
    if n >= 3 and quiet_last and (groups[-1] not in body or e[-1] < 0.5 * emax):
        roles[-1] = "outro"
    # A song rarely opens on its chorus (or drop): loud first material that is not an intro is
    # the first verse; the chorus is what it builds to.
    if roles[0] in ("chorus", "drop") and n >= 3:
        roles[0] = "verse"
    return roles


def find_sections(
    fe: Frontend,
    dyn: Dynamics,
    chroma: np.ndarray,
    downbeats: np.ndarray,
) -> list[SectionInfo]:
    duration = fe.duration
    bar_guess = float(np.median(np.diff(downbeats))) if downbeats.size > 1 else 2.0
    # A last bar cut short by the end (ring-out tail) joins the previous bar.
    db = downbeats[downbeats < duration - 0.75 * bar_guess]
    if db.size < 4:
        e = float(dyn.intensity.mean()) if dyn.intensity.size else 0.0
        return [SectionInfo(0.0, duration, "verse", "verse 1", 0, e)]
    edges = np.append(db, duration)
    feats = bar_features(fe, dyn, chroma, edges)
    bar_dur = float(np.median(np.diff(db)))
    bar_chroma = _span_mean(chroma, fe.frame_rate, edges)
    bar_chroma /= np.linalg.norm(bar_chroma, axis=1, keepdims=True) + 1e-9
    starts_idx = find_boundaries(feats, db, bar_chroma)
    bounds = [edges[i] for i in starts_idx] + [duration]
    bounds[0] = 0.0  # the first section starts with the audio (pickup bars included)
    sec_feats = []
    energies = []
    for k, i0 in enumerate(starts_idx):
        i1 = starts_idx[k + 1] if k + 1 < len(starts_idx) else feats.shape[0]
        sec_feats.append(feats[i0:i1].mean(axis=0))
        a, b = bounds[k], bounds[k + 1]
        ia, ib = int(a * dyn.rate_hz), max(int(a * dyn.rate_hz) + 1, int(b * dyn.rate_hz))
        energies.append(float(dyn.intensity[ia:ib].mean()))
    patterns = harmonic_patterns(bar_chroma, starts_idx, feats.shape[0])
    groups = _groups(np.array(sec_feats), patterns=patterns)
    roles = assign_roles(energies, groups, bounds[:-1], duration)
    out: list[SectionInfo] = []
    counter: dict[str, int] = {}
    for k in range(len(starts_idx)):
        prev = out[-1] if out else None
        if prev is not None and prev.role == roles[k] and prev.group == groups[k]:
            # The same material twice in a row is one longer section (a doubled chorus), not
            # two: the novelty split it on a small change inside.
            span_a, span_b = prev.end - prev.start, bounds[k + 1] - bounds[k]
            prev.energy = (prev.energy * span_a + energies[k] * span_b) / (span_a + span_b)
            prev.end = float(bounds[k + 1])
            continue
        counter[roles[k]] = counter.get(roles[k], 0) + 1
        out.append(
            SectionInfo(
                start=float(bounds[k]),
                end=float(bounds[k + 1]),
                role=roles[k],
                label=f"{roles[k]} {counter[roles[k]]}",
                group=groups[k],
                energy=energies[k],
            )
        )
    return out
