"""Sections as blocks of the bar self-similarity matrix: merging alike neighbours, long splits.

Novelty finds every place where the bars change more than usual, which on a real recording
includes changes inside a section (a new riff over the same band, a fill, a layer added half
way). What makes two neighbouring stretches one section is that their bars are as alike
across the boundary as within each side (the boundary is no edge of a block in the matrix),
at the same loudness, on chords that keep repeating (no harmonic novelty there).
"""

from __future__ import annotations

import numpy as np

# Cross-similarity of two neighbours relative to their mean within-similarity above which
# the boundary is no block edge.
MERGE_SIMILARITY = 0.93
MERGE_ENERGY = 0.08  # at most this far apart in mean intensity (0..1)
MERGE_HARMONY = 1.0  # harmonic novelty (its own units) at the boundary that keeps it
MIN_INNER_BARS = 4  # a shorter section between two others is part of one of them
MAX_SECTION_S = 45.0  # longer sections are split at a phrase (same label and group)


def bar_similarity(feats: np.ndarray) -> np.ndarray:
    """Cosine similarity of the bars' standardised features mapped to 0..1 (1 = alike)."""
    unit = feats / (np.linalg.norm(feats, axis=1, keepdims=True) + 1e-9)
    return np.clip((unit @ unit.T + 1.0) / 2.0, 0.0, 1.0)


def _within(sim: np.ndarray, a: int, b: int) -> float:
    k = b - a
    if k < 2:
        return 1.0
    block = sim[a:b, a:b]
    return float((block.sum() - np.trace(block)) / (k * (k - 1)))


def block_ratio(sim: np.ndarray, a: int, b: int, c: int) -> float:
    """Mean similarity across the boundary b of bars a..b and b..c over that within them."""
    within = 0.5 * (_within(sim, a, b) + _within(sim, b, c))
    return float(sim[a:b, b:c].mean()) / max(within, 1e-9)


def merge_alike(
    starts: list[int],
    sim: np.ndarray,
    bar_energy: np.ndarray,
    bar_weight: np.ndarray,
    harmony: np.ndarray,
) -> list[int]:
    """Section starts with boundaries that are no block edge removed, most alike pair first."""
    n = sim.shape[0]
    starts = list(starts)

    def energy(a: int, b: int) -> float:
        return float(np.average(bar_energy[a:b], weights=bar_weight[a:b]))

    while len(starts) > 1:
        ends = starts[1:] + [n]
        best, best_k = MERGE_SIMILARITY, -1
        for k in range(1, len(starts)):
            a, b, c = starts[k - 1], starts[k], ends[k]
            if abs(energy(a, b) - energy(b, c)) > MERGE_ENERGY:
                continue
            if float(harmony[max(0, b - 1) : b + 2].max()) >= MERGE_HARMONY:
                continue
            r = block_ratio(sim, a, b, c)
            if r >= best:
                best, best_k = r, k
        if best_k < 0:
            break
        del starts[best_k]
    return starts


def absorb_short(starts: list[int], sim: np.ndarray, min_bars: int = MIN_INNER_BARS) -> list[int]:
    """Inner sections shorter than min_bars joined to the neighbour their bars are more like.

    Two bars between two sections are a fill, a stop or a build-up: part of a section, not
    one (the ends keep short intros and outros).
    """
    n = sim.shape[0]
    starts = list(starts)
    while True:
        ends = starts[1:] + [n]
        short = [k for k in range(1, len(starts) - 1) if ends[k] - starts[k] < min_bars]
        if not short:
            return starts
        k = min(short, key=lambda k: ends[k] - starts[k])
        a, b = starts[k], ends[k]
        before = float(sim[a:b, starts[k - 1] : a].mean())
        after = float(sim[a:b, b : ends[k + 1]].mean())
        del starts[k + 1 if after > before else k]


def split_long(a: int, b: int, bar_times: np.ndarray, cuts: list[int]) -> list[int]:
    """Where a section a..b longer than MAX_SECTION_S is cut (none when it is not).

    Only at `cuts`, the boundaries merging removed (phrase starts where the music changed
    a little), the one nearest the middle first, until every part is short enough: the parts
    keep the section's label and group (one chorus, filmed in stretches). A section found
    long in one piece stays whole.
    """
    inside = [q for q in cuts if a < q < b]
    if bar_times[b] - bar_times[a] <= MAX_SECTION_S or not inside:
        return []
    mid = 0.5 * (bar_times[a] + bar_times[b])
    q = min(inside, key=lambda q: abs(float(bar_times[q]) - mid))
    return split_long(a, q, bar_times, inside) + [q] + split_long(q, b, bar_times, inside)
