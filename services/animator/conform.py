"""Conform a generated clip to its shot: exactly the planned frames, at the video's size.

Whatever a backend returns (16 fps Wan, 24 fps Sora, 25 fps LTX; 81 frames or 4 s; any size),
the shot gets exactly `n_out` frames at the video's fps:
- long enough at native speed: played in real time from its start, the rest trimmed;
- too short (or a backend that renders slow motion): stretched evenly over the shot.
Frames between two source frames are made by optical-flow interpolation (OpenCV Farneback on
luma, both frames warped along the flow and blended), not by repeating a frame, so a stretched
clip still moves on every frame. Each source frame is cover-fitted to the output size once and
kept as YUV 4:2:0 planes (the renderer's format); output frames are made on demand, so a long
shot never holds more than its source frames.

Clips of one shot made in pieces (a backend's length limit) are joined by `join`: each piece
started from the previous one's last frame, so that shared frame is kept once.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from services.animator.planes import Planes, rgb_to_planes
from services.common.images import cover_fit

# Positions this close to a source frame take that frame as is.
EXACT = 1e-6
# Optical flow is estimated on luma at this fraction of the output size (it is smooth; the
# warps themselves run at full resolution). A quarter costs 12 ms a 720p pair, a half 40 ms
# (bench/clip_conform.py), for motion of a few pixels a frame that both follow.
FLOW_SCALE = 0.25


def positions(n_src: int, src_fps: float, n_out: int, out_fps: float) -> np.ndarray:
    """Fractional source-frame index of each output frame (pure).

    Real time when the clip lasts the shot (trimmed at the end), else stretched evenly so its
    last frame lands on the shot's last frame.
    """
    if n_src < 1 or n_out < 1:
        raise ValueError(f"need frames on both sides (source {n_src}, shot {n_out})")
    j = np.arange(n_out, dtype=np.float64)
    if n_out == 1 or n_src == 1:
        return np.zeros(n_out)
    real_time = j * (src_fps / out_fps)
    if real_time[-1] <= n_src - 1 + EXACT:
        return real_time
    return j * ((n_src - 1) / (n_out - 1))


def fit_frames(frames: Sequence[np.ndarray], width: int, height: int) -> list[Planes]:
    """RGB frames -> planes at exactly width x height (cover crop: no bars, aspect kept)."""
    return [
        rgb_to_planes(np.ascontiguousarray(cover_fit(f[..., :3], width, height))) for f in frames
    ]


class FittedFrames(Sequence[Planes]):
    """`fit_frames` on demand: a trimmed clip never pays for the frames it does not show."""

    def __init__(self, frames: Sequence[np.ndarray], width: int, height: int) -> None:
        self.frames = frames
        self.width, self.height = width, height
        self._done: dict[int, Planes] = {}

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, i: int) -> Planes:  # type: ignore[override]
        i = range(len(self.frames))[i]
        if i not in self._done:
            self._done[i] = fit_frames([self.frames[i]], self.width, self.height)[0]
        return self._done[i]


def join(pieces: Sequence[Sequence[np.ndarray]]) -> list[np.ndarray]:
    """Frames of consecutive pieces, each piece's first frame (the previous one's last) once."""
    out: list[np.ndarray] = []
    for i, piece in enumerate(pieces):
        out.extend(piece if i == 0 else piece[1:])
    return out


@dataclass(frozen=True)
class Flow:
    """Dense flow a -> b (a(x) ~ b(x + F(x))) as separate x/y maps at luma and chroma size."""

    fx: np.ndarray
    fy: np.ndarray
    cfx: np.ndarray
    cfy: np.ndarray


def estimate_flow(a: np.ndarray, b: np.ndarray) -> Flow:
    """Farneback on two luma planes, estimated at FLOW_SCALE and scaled up."""
    h, w = a.shape
    sw, sh = max(8, int(w * FLOW_SCALE)), max(8, int(h * FLOW_SCALE))
    sa = cv2.resize(a, (sw, sh), interpolation=cv2.INTER_AREA)
    sb = cv2.resize(b, (sw, sh), interpolation=cv2.INTER_AREA)
    small = cv2.calcOpticalFlowFarneback(
        sa,
        sb,
        None,
        0.5,
        3,
        15,
        3,
        5,
        1.2,
        0,  # type: ignore[call-overload]
    )
    sx, sy = cv2.split(small)
    full = [
        cv2.resize(f, (w, h), interpolation=cv2.INTER_LINEAR) * k
        for f, k in ((sx, w / sw), (sy, h / sh))
    ]
    half = [
        cv2.resize(f, (w // 2, h // 2), interpolation=cv2.INTER_LINEAR) * (0.5 * k)
        for f, k in ((sx, w / sw), (sy, h / sh))
    ]
    return Flow(full[0], full[1], half[0], half[1])


@functools.lru_cache(maxsize=4)
def _grid(w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates (read-only: shared by every frame of that size)."""
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    gx.flags.writeable = gy.flags.writeable = False
    return gx, gy


def _warp(plane: np.ndarray, fx: np.ndarray, fy: np.ndarray, t: float) -> np.ndarray:
    """plane sampled at x + t F(x)."""
    gx, gy = _grid(plane.shape[1], plane.shape[0])
    mx = cv2.scaleAdd(fx, t, gx)
    my = cv2.scaleAdd(fy, t, gy)
    return cv2.remap(plane, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def interpolate(a: Planes, b: Planes, t: float, flow: Flow | None = None) -> Planes:
    """The frame a fraction t of the way from a to b: a pulled forward along the flow, b pulled
    back, blended by distance. `flow` (a -> b) may be given to reuse it."""
    if flow is None:
        flow = estimate_flow(a.y, b.y)
    out = []
    # Sample a at x - t F(x) and b at x + (1 - t) F(x): both land where the motion is at time t.
    for pa, pb, fx, fy in (
        (a.y, b.y, flow.fx, flow.fy),
        (a.u, b.u, flow.cfx, flow.cfy),
        (a.v, b.v, flow.cfx, flow.cfy),
    ):
        wa, wb = _warp(pa, fx, fy, -t), _warp(pb, fx, fy, 1.0 - t)
        out.append(cv2.addWeighted(wa, 1.0 - t, wb, t, 0.0))
    return Planes(out[0], out[1], out[2])


class ConformedClip:
    """A clip as exactly `n_out` frames at the output fps and size; frame(j) on demand."""

    def __init__(
        self, sources: Sequence[Planes], src_fps: float, n_out: int, out_fps: float
    ) -> None:
        if not sources:
            raise ValueError("a clip needs at least one frame")
        self.sources = sources
        self.positions = positions(len(sources), src_fps, n_out, out_fps)
        self._pair: tuple[int, Flow] | None = None  # the last flow, reused by neighbours

    def __len__(self) -> int:
        return len(self.positions)

    @property
    def interpolated(self) -> int:
        """How many output frames are made between source frames (not taken as they are)."""
        frac = self.positions - np.floor(self.positions + EXACT)
        return int(np.count_nonzero(frac > EXACT))

    def frame(self, j: int) -> Planes:
        j = min(max(j, 0), len(self.positions) - 1)
        pos = float(self.positions[j])
        i = int(np.floor(pos + EXACT))
        t = pos - i
        if t <= EXACT or i + 1 >= len(self.sources):
            return self.sources[min(i, len(self.sources) - 1)]
        if self._pair is None or self._pair[0] != i:
            self._pair = (i, estimate_flow(self.sources[i].y, self.sources[i + 1].y))
        return interpolate(self.sources[i], self.sources[i + 1], t, self._pair[1])
