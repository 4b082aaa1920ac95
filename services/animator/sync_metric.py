"""What a viewer feels: do the visual accents of a finished video land on the beats?

Pure and dependency-light so tests, benchmarks and the orchestrator can import it:
frames (a video path or any iterator of images) -> per-frame luma change -> visual accent times
-> F-measure against the concept's beat times (+-70 ms), plus black frames, frozen runs and the
size of the change at segment joins compared with ordinary changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

TOLERANCE_S = 0.07
ANALYSIS_WIDTH = 160
# A black frame: dark on average AND nothing bright in it (a dark night scene with lit windows
# is not black). Thresholds on 0..255 luma.
BLACK_LUMA = 24.0
BLACK_P99 = 40.0
FROZEN_CHANGE = 0.05  # mean |dY| below this: the frame did not change at all
MIN_FROZEN_RUN = 3


@dataclass(frozen=True)
class SyncReport:
    fps: float
    frame_count: int
    accent_times: list[float]
    beat_times: list[float]
    precision: float
    recall: float
    f_measure: float
    black_frames: int
    frozen_runs: list[tuple[int, int]]  # (first frame, length) of runs of unchanged frames
    median_change: float
    join_ratios: dict[int, float] = field(default_factory=dict)  # join frame -> ratio

    @property
    def max_join_ratio(self) -> float:
        return max(self.join_ratios.values(), default=0.0)

    def summary(self) -> str:
        return (
            f"F={self.f_measure:.3f} (P={self.precision:.3f} R={self.recall:.3f}, "
            f"{len(self.accent_times)} accents / {len(self.beat_times)} beats), "
            f"black={self.black_frames}, frozen runs={len(self.frozen_runs)}, "
            f"max join ratio={self.max_join_ratio:.2f}"
        )


def luma_frames(path: Path | str, width: int = ANALYSIS_WIDTH) -> Iterator[np.ndarray]:
    """Decode a video into small luma images, one at a time."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        height = None
        for frame in container.decode(stream):
            if height is None:
                height = max(2, round(frame.height * width / frame.width / 2) * 2)
            yield frame.reformat(width=width, height=height, format="gray").to_ndarray()


def video_fps(path: Path | str) -> float:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        return float(rate) if rate else 0.0


def _to_luma(img: np.ndarray, width: int) -> np.ndarray:
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    if img.shape[1] != width:
        h = max(2, round(img.shape[0] * width / img.shape[1]))
        img = cv2.resize(img, (width, h), interpolation=cv2.INTER_AREA)
    return img


def frame_changes(
    frames: Iterable[np.ndarray], width: int = ANALYSIS_WIDTH
) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame mean |luma difference| to the previous frame (0 for frame 0), and whether each
    frame is black (1.0) or not (0.0)."""
    changes: list[float] = []
    blacks: list[float] = []
    prev: np.ndarray | None = None
    for img in frames:
        y = _to_luma(np.asarray(img), width).astype(np.float32)
        black = y.mean() < BLACK_LUMA and np.percentile(y, 99) < BLACK_P99
        blacks.append(1.0 if black else 0.0)
        changes.append(0.0 if prev is None else float(np.mean(np.abs(y - prev))))
        prev = y
    return np.asarray(changes), np.asarray(blacks)


def detect_accents(changes: np.ndarray, fps: float, min_gap_s: float = 0.1) -> np.ndarray:
    """Frames where the picture changes much more than around them (local peaks of change)."""
    n = len(changes)
    if n < 3:
        return np.zeros(0, dtype=np.int64)
    half = max(2, int(round(0.5 * fps)))
    padded = np.pad(changes, half, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    baseline = np.median(windows, axis=1)[:n]
    floor = max(0.5, 0.25 * float(np.median(changes[1:])) if n > 1 else 0.5)
    candidates = [
        k
        for k in range(1, n)
        if changes[k] >= changes[k - 1]
        and (k + 1 >= n or changes[k] > changes[k + 1])
        and changes[k] > 1.6 * baseline[k] + floor
        # An accent is a sudden rise, not a wobble in the decay of the previous one.
        and changes[k] > 1.3 * float(np.max(changes[max(1, k - 3) : k], initial=0.0))
    ]
    picked: list[int] = []
    gap = max(1, int(round(min_gap_s * fps)))
    for k in sorted(candidates, key=lambda k: -changes[k]):
        if all(abs(k - p) >= gap for p in picked):
            picked.append(k)
    return np.asarray(sorted(picked), dtype=np.int64)


def match_events(
    estimated: Sequence[float], reference: Sequence[float], tolerance: float = TOLERANCE_S
) -> tuple[float, float, float]:
    """Precision, recall, F-measure with one-to-one matching within +-tolerance."""
    est = sorted(estimated)
    ref = sorted(reference)
    if not ref and not est:
        return 1.0, 1.0, 1.0
    if not ref or not est:
        return 0.0, 0.0, 0.0
    used = [False] * len(est)
    hits = 0
    j0 = 0
    for r in ref:
        while j0 < len(est) and est[j0] < r - tolerance:
            j0 += 1
        best, best_d = -1, tolerance + 1e-9
        j = j0
        while j < len(est) and est[j] <= r + tolerance:
            if not used[j] and abs(est[j] - r) <= best_d:
                best, best_d = j, abs(est[j] - r)
            j += 1
        if best >= 0:
            used[best] = True
            hits += 1
    precision = hits / len(est)
    recall = hits / len(ref)
    f = 0.0 if hits == 0 else 2 * precision * recall / (precision + recall)
    return precision, recall, f


def join_ratios(
    changes: np.ndarray, joins: Sequence[int], beat_frames: Sequence[int], fps: float
) -> dict[int, float]:
    """Change at each join / the change expected there.

    On a beat frame the expectation is the typical accent (median change on beat frames);
    elsewhere it is the median change in the surrounding half second. ~1 = seamless,
    >> 1 = a visible jump (fine only at an intended cut).
    """
    n = len(changes)
    beats = {int(b) for b in beat_frames if 0 < b < n}
    beat_changes = [changes[b] for b in beats]
    typical_accent = float(np.median(beat_changes)) if beat_changes else 0.0
    half = max(2, int(round(0.5 * fps)))
    out: dict[int, float] = {}
    for j in joins:
        if not 0 < j < n:
            continue
        near_beat = any(abs(j - b) <= 1 for b in beats)
        window = np.concatenate([changes[max(1, j - half) : j], changes[j + 1 : j + 1 + half]])
        local = float(np.median(window)) if len(window) else 0.0
        expected = max(typical_accent if near_beat else local, local, 0.25)
        out[int(j)] = float(changes[j] / expected)
    return out


def frozen_runs(
    changes: np.ndarray, black: np.ndarray, min_run: int = MIN_FROZEN_RUN
) -> list[tuple[int, int]]:
    """Runs of frames identical to their predecessor (black frames are reported separately)."""
    runs: list[tuple[int, int]] = []
    start = None
    for k in range(1, len(changes) + 1):
        frozen = k < len(changes) and changes[k] < FROZEN_CHANGE and not black[k]
        if frozen and start is None:
            start = k
        elif not frozen and start is not None:
            if k - start >= min_run:
                runs.append((start, k - start))
            start = None
    return runs


def analyze(
    frames: Iterable[np.ndarray] | Path | str,
    beat_times: Sequence[float],
    fps: float | None = None,
    joins: Sequence[int] = (),
    tolerance: float = TOLERANCE_S,
) -> SyncReport:
    """Sync report for a video file or an iterator of frames (RGB or luma) at `fps`."""
    if isinstance(frames, (str, Path)):
        fps = fps or video_fps(frames)
        changes, black = frame_changes(luma_frames(frames))
    else:
        changes, black = frame_changes(frames)
    if not fps:
        raise ValueError("fps is required for a frame iterator")
    n = len(changes)
    # The first moments cannot show an accent (nothing precedes frame 0): skip them on both sides.
    skip = max(0.1, 2.0 / fps)
    accents = detect_accents(changes, fps)
    accent_times = [float(k / fps) for k in accents if k / fps >= skip]
    beats = [float(b) for b in beat_times if skip <= b <= (n - 1) / fps]
    precision, recall, f = match_events(accent_times, beats, tolerance)
    beat_frames = [int(round(b * fps)) for b in beats]
    return SyncReport(
        fps=float(fps),
        frame_count=n,
        accent_times=accent_times,
        beat_times=beats,
        precision=precision,
        recall=recall,
        f_measure=f,
        black_frames=int(np.sum(black)),
        frozen_runs=frozen_runs(changes, black),
        median_change=float(np.median(changes[1:])) if n > 1 else 0.0,
        join_ratios=join_ratios(changes, joins, beat_frames, fps),
    )
