"""Shot boundaries and editing figures measured from a video's pixels (pure, numpy + OpenCV).

A frame is summarised by its colour distribution (per-channel RGB histograms, 32 bins) and a tiny
blurred RGB image (32x18). The distance between two frames is the larger of (a gain times) the
histograms' earth mover's distance and (a gain times) the tiny images' mean absolute difference:
the first sees a change of look, the second a change of composition within one palette; both grow
steadily through a crossfade (a binned total-variation distance jumps as pixels cross bin edges,
which makes the first frames of a crossfade look like a cut). Looks are compared with an HSV
histogram (12 hue x 4 saturation x 4 value bins, total-variation distance).

- A hard cut at frame k: the change k-1 -> k is a local peak well above the change around it (an
  adaptive threshold: a multiple of the median change in the surrounding second, with a floor),
  alone (well above the frames around it: a crossfade or a fast move changes every frame; the
  two frames either side may share a little of it, as a flash cut ramps in), and it persists:
  frame k-3 still differs from frame k+L (L ~ a quarter second), by more than the picture changed
  over the L frames before. A flash or a beat punch changes the picture for a few frames and
  comes back, so it fails the persistence test; a cut into a flash passes it (the scene after the
  flash is another scene); a punch while a flash decays or a move goes on fails the second part.
- A gradual transition (crossfade, zoom-through, slide; the animator's are <= 1 s) centred at
  frame k: frames half a second either side differ a lot, no frame change there is a cut, and the
  picture is steady in the half seconds before and after compared with the change across (a
  continuous camera move changes as much on each side as across, relative to its span).

The rest are small figures over those boundaries: share of events near a grid, shot lengths,
cut rates per section role, look contrast between sections, black and frozen stretches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

HIST_BINS = (12, 4, 4)
CHANNEL_BINS = 32
TINY = (32, 18)
COLOUR_GAIN = 3.0  # EMD of the channel histograms (0..1 of the range) x this
PIXEL_GAIN = 3.0  # mean |d RGB| (0..1) x this
CUT_FLOOR = 0.12  # a cut changes the frame by at least this much
CUT_FACTOR = 4.0  # ... and by this many times the local median change
INNER = 1.5  # ... and by this many times the median change of the 2 frames either side
ISOLATION = 3.0  # ... and of the 3 frames beyond those (a flash cut ramps in over 2 frames)
PERSIST = 0.35  # frame k-3 vs frame k+L keeps this share of the cut's change (and the floor)
PRE_STEADY = 1.5  # ... and exceeds the change over the L frames before k this many times
GRADUAL_FLOOR = 0.06  # the two sides of a gradual transition differ by at least this much
GRADUAL_STEADY = 3.0  # ... and by this many times the change within each side
MIN_SHOT_S = 0.2  # two boundaries closer than this are one


def colour_histogram(rgb: np.ndarray) -> np.ndarray:
    """Normalised HSV histogram (HIST_BINS, flattened, sums to 1) of an RGB uint8 image."""
    hsv = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1, 2], None, list(HIST_BINS), [0, 180, 0, 256, 0, 256])
    flat = hist.ravel().astype(np.float32)
    return flat / max(float(flat.sum()), 1.0)


def hist_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Total-variation distance (0..1) between two normalised histograms."""
    return 0.5 * float(np.abs(a - b).sum())


def channel_cdfs(rgb: np.ndarray) -> np.ndarray:
    """Cumulative per-channel histograms (3 x CHANNEL_BINS, each ending at 1), flattened."""
    img = np.ascontiguousarray(rgb)
    cdfs = []
    for c in range(3):
        h = cv2.calcHist([img], [c], None, [CHANNEL_BINS], [0, 256]).ravel()
        cdfs.append(np.cumsum(h) / max(float(h.sum()), 1.0))
    return np.concatenate(cdfs).astype(np.float32)


def tiny_image(rgb: np.ndarray) -> np.ndarray:
    """A 32x18 blurred RGB image in 0..1, flattened (composition and colour, not detail)."""
    small = cv2.resize(np.ascontiguousarray(rgb), TINY, interpolation=cv2.INTER_AREA)
    return (cv2.GaussianBlur(small, (3, 3), 0).astype(np.float32) / 255.0).ravel()


@dataclass
class FrameFeatures:
    """Per-frame signatures of a video: hist (looks), cdf (colours) and tiny (composition)."""

    hist: np.ndarray
    cdf: np.ndarray
    tiny: np.ndarray

    @classmethod
    def of(cls, frames: Sequence[np.ndarray]) -> FrameFeatures:
        return cls(
            np.stack([colour_histogram(f) for f in frames]),
            np.stack([channel_cdfs(f) for f in frames]),
            np.stack([tiny_image(f) for f in frames]),
        )

    def __len__(self) -> int:
        return len(self.hist)

    def distance(self, a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray:
        """Frame distance (0..1) between frames a and b (index arrays of equal length, or ints)."""
        emd = np.abs(self.cdf[a] - self.cdf[b]).mean(axis=-1)
        pix = np.abs(self.tiny[a] - self.tiny[b]).mean(axis=-1)
        return np.minimum(1.0, np.maximum(COLOUR_GAIN * emd, PIXEL_GAIN * pix))

    def lagged(self, lag: int) -> np.ndarray:
        """d[k] = distance(k - lag, k) for k >= lag, 0 before."""
        n = len(self)
        out = np.zeros(n, dtype=np.float64)
        if n > lag:
            k = np.arange(lag, n)
            out[lag:] = self.distance(k - lag, k)
        return out


def _running_median(x: np.ndarray, half: int) -> np.ndarray:
    padded = np.pad(x, half, mode="edge")
    return np.median(np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1), axis=1)


def detect_cuts(feat: FrameFeatures, fps: float) -> list[int]:
    """First frames of new shots after hard cuts (see the module doc)."""
    n = len(feat)
    if n < 3:
        return []
    d = feat.lagged(1)
    d[0] = 0.0
    baseline = _running_median(d, max(2, int(round(fps))))
    lag = max(3, int(round(0.25 * fps)))
    gap = max(1, int(round(MIN_SHOT_S * fps)))
    cuts: list[int] = []
    for k in range(1, n):
        if d[k] < max(CUT_FLOOR, CUT_FACTOR * baseline[k]):
            continue
        if d[k] < d[max(1, k - 2) : k + 3].max():
            continue
        inner = np.concatenate([d[max(1, k - 2) : k], d[k + 1 : k + 3]])
        ring = np.concatenate([d[max(1, k - 5) : max(1, k - 2)], d[k + 3 : k + 6]])
        if (inner.size and d[k] < INNER * float(np.median(inner))) or (
            ring.size and d[k] < ISOLATION * float(np.median(ring))
        ):
            continue  # part of a run of changes (a crossfade, a fast move), not one jump
        # Before is read 3 frames back: a flash cut ramps in over 2.
        before, after = max(0, k - 3), min(n - 1, k + lag)
        across = float(feat.distance(before, after)) if after > k else float(d[k])
        if across < max(CUT_FLOOR, PERSIST * d[k]):
            continue  # it came back: a flash or a punch, not a new shot
        if before - lag >= 0 and across < PRE_STEADY * float(feat.distance(before - lag, before)):
            continue  # the picture was changing as much before: a jolt in a move or a decay
        if cuts and k - cuts[-1] < gap:
            if d[k] > d[cuts[-1]]:
                cuts[-1] = k
            continue
        cuts.append(k)
    return cuts


def detect_gradual(feat: FrameFeatures, fps: float, cuts: Sequence[int] = ()) -> list[int]:
    """Centre frames of gradual transitions between steady shots, away from hard cuts."""
    n = len(feat)
    w = max(2, int(round(0.5 * fps)))
    if n < 4 * w + 1:
        return []
    k = np.arange(2 * w, n - 2 * w)
    across = feat.distance(k - w, k + w)
    before = feat.distance(k - 2 * w, k - w)
    after = feat.distance(k + w, k + 2 * w)
    ok = (across >= GRADUAL_FLOOR) & (across >= GRADUAL_STEADY * np.maximum(before, after))
    score = np.where(ok, across, 0.0)
    found: list[int] = []
    for i in np.argsort(-score):
        if score[i] <= 0:
            break
        c = int(k[i])
        if any(abs(c - x) <= 2 * w for x in cuts) or any(abs(c - x) <= 2 * w for x in found):
            continue
        found.append(c)
    return sorted(found)


def shots(boundaries: Sequence[int], n: int) -> list[tuple[int, int]]:
    """[start, end) frame ranges of the shots between boundaries (first frames of new shots)."""
    edges = [0, *sorted(b for b in set(boundaries) if 0 < b < n), n]
    return [(a, b) for a, b in zip(edges, edges[1:], strict=False) if b > a]


def share_near(times: Sequence[float], grid: Sequence[float], tol: float) -> float | None:
    """Share of `times` within `tol` of some grid time (None when there are no times)."""
    if not len(times):
        return None
    g = np.sort(np.asarray(grid, dtype=np.float64))
    if g.size == 0:
        return 0.0
    t = np.asarray(times, dtype=np.float64)
    idx = np.clip(np.searchsorted(g, t), 1, g.size - 1) if g.size > 1 else np.zeros_like(t, int)
    near = np.minimum(np.abs(g[idx] - t), np.abs(g[np.maximum(idx - 1, 0)] - t))
    return float(np.mean(near <= tol + 1e-9))


@dataclass(frozen=True)
class SectionSpan:
    start: float
    end: float
    role: str  # "verse", "chorus", "drop", ...
    group: int  # sections with the same group repeat each other


def section_at(sections: Sequence[SectionSpan], t: float) -> int:
    for i, s in enumerate(sections):
        if s.start <= t < s.end:
            return i
    return -1


def cut_rate(cut_times: Sequence[float], sections: Sequence[SectionSpan], roles: set[str]) -> float:
    """Cuts per second inside the sections with these roles (0 when there are none)."""
    picked = [s for s in sections if s.role in roles]
    seconds = sum(s.end - s.start for s in picked)
    count = sum(1 for t in cut_times for s in picked if s.start <= t < s.end)
    return count / seconds if seconds > 0 else 0.0


def cut_rate_ratio(
    cut_times: Sequence[float],
    sections: Sequence[SectionSpan],
    loud: frozenset[str] = frozenset({"chorus", "drop"}),
    calm: frozenset[str] = frozenset({"verse"}),
) -> float | None:
    """Cut rate in choruses/drops over the rate in verses (None when a side is missing or the
    verses have no cut at all: the ratio is then unbounded, reported apart)."""
    if not any(s.role in loud for s in sections) or not any(s.role in calm for s in sections):
        return None
    calm_rate = cut_rate(cut_times, sections, set(calm))
    if calm_rate <= 0:
        return None
    return cut_rate(cut_times, sections, set(loud)) / calm_rate


def look_contrast(
    hists: np.ndarray, shot_sections: Sequence[int], sections: Sequence[SectionSpan]
) -> tuple[float | None, float | None]:
    """(mean histogram distance between shots of sections of different repeat groups, the same
    between shots of different sections of the same repeat group). One histogram per shot
    (from its middle frame); shots outside any section are left out."""
    diff: list[float] = []
    same: list[float] = []
    for i in range(len(shot_sections)):
        for j in range(i + 1, len(shot_sections)):
            a, b = shot_sections[i], shot_sections[j]
            if a < 0 or b < 0 or a == b:
                continue
            d = hist_distance(hists[i], hists[j])
            (same if sections[a].group == sections[b].group else diff).append(d)
    return (float(np.mean(diff)) if diff else None, float(np.mean(same)) if same else None)


def longest_run(flags: Sequence[bool]) -> int:
    best = run = 0
    for f in flags:
        run = run + 1 if f else 0
        best = max(best, run)
    return best


def longest_frozen(luma: Sequence[np.ndarray], tol: float = 1.0) -> int:
    """Longest run of frames that all stay within `tol` (mean |dY| on 0..255) of the run's first
    frame: a picture that does not move, also when each step is tiny (a slow drift is not
    frozen: it accumulates past `tol`)."""
    best = 0
    start = 0
    for k in range(1, len(luma) + 1):
        if k < len(luma):
            diff = float(np.mean(np.abs(luma[k].astype(np.float32) - luma[start])))
            if diff <= tol:
                continue
        best = max(best, k - start)
        start = k
    return best
