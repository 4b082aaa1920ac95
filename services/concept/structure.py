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
from services.concept.section_blocks import (
    absorb_short,
    bar_similarity,
    merge_alike,
    split_long,
)
from services.concept.section_roles import assign_roles

NOVELTY_HEIGHT = 3.0
NOVELTY_PROMINENCE = 1.0
GROUP_REL_THRESHOLD = 0.3
# Sections whose 4-bar chord patterns differ by more than this (1 - cosine) never repeat.
HARMONY_THRESHOLD = 0.1
FADE_DROP = 0.15  # intensity (0..1) a fade-out loses from the first to the second half
HARMONY_NOVELTY_WEIGHT = 1.0  # harmonic novelty units count like bar-feature units


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


def _windows(bar_dur: float) -> tuple[int, int]:
    """Novelty window lengths (bars): ~12 s spanning whole chord cycles (>= 4 bars, so harmony
    moving inside a phrase is no change) and ~5 s that localises changes and still sees short
    sections (a 4-bar pre-chorus) that the long window smears into a neighbour."""
    w = int(np.clip(round(12.0 / max(bar_dur, 1e-3)), 4, 8))
    return w, int(np.clip(round(5.0 / max(bar_dur, 1e-3)), 2, w))


def boundary_novelty(
    feats: np.ndarray, bar_times: np.ndarray, bar_chroma: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per bar: the combined novelty boundaries are picked on, and its harmonic part."""
    w, ws = _windows(float(np.median(np.diff(bar_times))))
    nov = 0.5 * (novelty(feats, w) + novelty(feats, ws))
    harm = np.zeros_like(nov)
    if bar_chroma is not None:
        harm = HARMONY_NOVELTY_WEIGHT * harmonic_novelty(bar_chroma)
    return nov + harm, harm


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
    w, ws = _windows(bar_dur)
    nov, _ = boundary_novelty(feats, bar_times, bar_chroma)
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


def fades_out(bar_energy: np.ndarray, a: int, b: int) -> bool:
    """Bars a..b get steadily quieter: the second half (its final bar, the ring-out of any
    ending, left out) is FADE_DROP below the first."""
    if b - a < 5:
        return False
    mid = (a + b) // 2
    return float(bar_energy[a:mid].mean() - bar_energy[mid : b - 1].mean()) >= FADE_DROP


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
    n = db.size
    feats = bar_features(fe, dyn, chroma, edges)
    bar_chroma = _span_mean(chroma, fe.frame_rate, edges)
    bar_chroma /= np.linalg.norm(bar_chroma, axis=1, keepdims=True) + 1e-9
    _, harm = boundary_novelty(feats, db, bar_chroma)
    bar_energy = _span_mean(dyn.intensity[None, :], dyn.rate_hz, edges)[:, 0]
    found = find_boundaries(feats, db, bar_chroma)
    sim = bar_similarity(feats)
    starts = absorb_short(merge_alike(found, sim, bar_energy, np.diff(edges), harm), sim)
    ends = starts[1:] + [n]
    sec_feats = np.array([feats[a:b].mean(axis=0) for a, b in zip(starts, ends, strict=True)])
    energies = [
        float(np.average(bar_energy[a:b], weights=np.diff(edges)[a:b]))
        for a, b in zip(starts, ends, strict=True)
    ]
    patterns = harmonic_patterns(bar_chroma, starts, n)
    groups = _groups(sec_feats, patterns=patterns)
    times = [0.0] + [float(edges[i]) for i in starts[1:]]  # the first takes the pickup too
    roles = assign_roles(
        energies, groups, times, duration, fading_end=fades_out(bar_energy, starts[-1], n)
    )
    # (first bar, last bar + 1, role, group, energy) per section.
    spans: list[tuple[int, int, str, int, float]] = []
    for k in range(len(starts)):
        same = spans and spans[-1][2] == roles[k]
        if same and (spans[-1][3] == groups[k] or roles[k] in ("intro", "outro")):
            # The same material twice in a row is one longer section (a doubled chorus), not
            # two: the novelty split it on a small change inside. An intro (or outro) in
            # stages is one intro.
            a, _, role, group, e = spans[-1]
            wa, wb = edges[ends[k - 1]] - edges[a], edges[ends[k]] - edges[starts[k]]
            spans[-1] = (a, ends[k], role, group, float((e * wa + energies[k] * wb) / (wa + wb)))
            continue
        spans.append((starts[k], ends[k], roles[k], groups[k], energies[k]))
    out: list[SectionInfo] = []
    counter: dict[str, int] = {}
    for a, b, role, group, e in spans:
        counter[role] = counter.get(role, 0) + 1
        # Merged into a very long section: cut again where merging joined it (a phrase start),
        # the parts keeping one label and group, each with its own energy.
        cuts = [a, *split_long(a, b, edges, [q for q in found if q not in starts]), b]
        for i0, i1 in zip(cuts[:-1], cuts[1:], strict=True):
            part_e = float(np.average(bar_energy[i0:i1], weights=np.diff(edges)[i0:i1]))
            out.append(
                SectionInfo(
                    start=0.0 if i0 == 0 else float(edges[i0]),
                    end=duration if i1 == n else float(edges[i1]),
                    role=role,
                    label=f"{role} {counter[role]}",
                    group=group,
                    energy=part_e if len(cuts) > 2 else e,
                )
            )
    return out
