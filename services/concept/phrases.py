"""Phrase-level section boundaries: novelty peaks moved onto 4/8-bar phrases when it is cheap.

Songs are built from 4- and 8-bar phrases, and a section change is a phrase start. Bar-feature
novelty peaks are blurred by fills and build-ups (the change is "heard" a bar early or late),
so each peak may move up to SNAP_REACH bars onto a bar whose novelty is nearly as high
(>= SNAP_EVIDENCE of the peak), and the positions are chosen together so that as many sections
as possible last a whole number of 4-bar phrases. A sharp change keeps its place: one bar off a
clean change the two-window novelty is at most ~3/4 of its peak, below SNAP_EVIDENCE, so
odd-length sections (a 2-bar intro, a 6-bar pre-chorus) survive.

Phrase length is counted in time (span / the span's median bar), not in downbeat indices, so
a spurious short bar from the downbeat tracker does not shift the count.
"""

from __future__ import annotations

import numpy as np

PHRASE_BARS = 4
SNAP_REACH = 2  # bars a boundary may move
SNAP_EVIDENCE = 0.8  # a new position needs this share of the peak's novelty
ALIGN_TOLERANCE = 0.35  # bars: how far from a whole number of phrases a section may be
# Worth more than the evidence a move can lose (1 - SNAP_EVIDENCE), so a supported phrase
# position always wins; an 8-bar multiple wins a near tie over a 4-bar one.
ALIGN_BONUS = 0.3
EIGHT_BONUS = 0.05


def phrase_bars(bar_times: np.ndarray, a: int, b: int) -> float:
    """Length of bars a..b in bars of the span's own median bar (tempo changes included)."""
    span = np.diff(bar_times[a : b + 1])
    return float((bar_times[b] - bar_times[a]) / max(float(np.median(span)), 1e-6))


def alignment(bar_times: np.ndarray, a: int, b: int) -> float:
    """ALIGN_BONUS (+ EIGHT_BONUS) when bars a..b are a whole number of phrases, else 0."""
    length = phrase_bars(bar_times, a, b)
    k = round(length / PHRASE_BARS)
    if k < 1 or abs(length - PHRASE_BARS * k) > ALIGN_TOLERANCE:
        return 0.0
    return ALIGN_BONUS + (EIGHT_BONUS if k % 2 == 0 else 0.0)


def local_contrast(feats: np.ndarray, q: int, lo: int, hi: int, w: int) -> float:
    """Distance of the mean bar features before and after bar q, windows kept inside lo..hi.

    Bounded by the neighbouring boundaries: a window that reaches into the next section
    makes the change look later (or earlier) than it is.
    """
    a = feats[max(lo, q - w) : q]
    b = feats[q : min(hi, q + w)]
    if a.shape[0] == 0 or b.shape[0] == 0:
        return 0.0
    return float(np.linalg.norm(a.mean(axis=0) - b.mean(axis=0)))


def snap_to_phrases(
    peaks: list[int], feats: np.ndarray, bar_times: np.ndarray, w: int, min_len: int = 2
) -> list[int]:
    """Section starts (bar indices, 0 first): every peak at its best supported position.

    Each peak may take a bar within SNAP_REACH whose local contrast (windows of up to w bars
    that stop short of the neighbouring peaks' reach) is >= SNAP_EVIDENCE of the best in that
    reach. A dynamic programme over the peaks in order picks the positions, scored by their
    relative contrast plus the alignment of the section each closes; sections shorter than
    min_len bars are not allowed (a peak that cannot be placed is skipped).
    """
    n = min(feats.shape[0], bar_times.size)
    peaks = sorted(p for p in peaks if 0 < p < n)
    fences = [0] + peaks + [n]
    # states: (position, score, back-pointer into the previous layer; <= -2 = skipped peak)
    layers: list[list[tuple[int, float, int]]] = [[(0, 0.0, -1)]]
    for i, p in enumerate(peaks):
        lo = fences[i] + SNAP_REACH if i > 0 else 0
        hi = fences[i + 2] - SNAP_REACH if i + 2 < len(fences) - 1 else n
        reach = range(max(1, p - SNAP_REACH), min(n - 1, p + SNAP_REACH) + 1)
        contrast = {q: local_contrast(feats, q, min(lo, q - 1), max(hi, q + 1), w) for q in reach}
        top = max(max(contrast.values()), 1e-9)
        cands = [q for q in reach if q == p or contrast[q] >= SNAP_EVIDENCE * top]
        layer: list[tuple[int, float, int]] = []
        for q in cands:
            best: tuple[float, int] | None = None
            for k, (pos, score, _) in enumerate(layers[-1]):
                if q - pos < min_len:
                    continue
                s = score + contrast[q] / top + alignment(bar_times, pos, q)
                if best is None or s > best[0]:
                    best = (s, k)
            if best is not None:
                layer.append((q, best[0], best[1]))
        # A peak may also be skipped (when it only fits too close to the previous one): the
        # previous layer's states stay alive with their scores.
        layer += [(pos, score, -2 - k) for k, (pos, score, _) in enumerate(layers[-1])]
        layers.append(layer)
    out: list[int] = []
    k = int(np.argmax([s for _, s, _ in layers[-1]]))
    for li in range(len(layers) - 1, 0, -1):
        pos, _, back = layers[li][k]
        if back >= 0:
            out.append(pos)
            k = back
        else:
            k = -2 - back
    return [0] + out[::-1]
