"""Camera motion, beat accents and transition curves: pure functions of the global frame index.

Nothing here depends on which segment is being rendered, only on the global frame index, the
music and per-shot parameters derived from seeds, so independent segments meet seamlessly.
"""

from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass

import numpy as np

from services.animator.music import Music

# Source images are prepared this much larger than the output so zoom, pan and rotation never
# reveal an edge.
SOURCE_SCALE = 1.15
# Camera travel reaches ~2/3 of its range after this much 'musical time' (see Music.progress).
TRAVEL_SECONDS = 6.0


def smoothstep(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * (3.0 - 2.0 * x)


def ease_in_out(x: float) -> float:
    """Cosine ease on [0, 1], clamped outside."""
    x = min(max(x, 0.0), 1.0)
    return 0.5 - 0.5 * math.cos(math.pi * x)


def travel(v: float, v0: float = 0.3) -> float:
    """Eased-out travel curve: 0 at v=0, monotonic, smooth everywhere, bounded (-> ~0.71).

    Defined for negative v too, so an incoming keyframe can already drift during a transition
    that starts before its shot does.
    """
    return math.tanh(v + v0) - math.tanh(v0)


def stable_rng(*parts: object) -> np.random.Generator:
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


@functools.lru_cache(maxsize=64)
def _sway_phases(seed: str) -> tuple[float, ...]:
    return tuple(float(x) for x in stable_rng(seed, "sway").uniform(0, 2 * math.pi, 4))


@dataclass(frozen=True)
class ShotMotion:
    """Per-keyframe camera plan: where the camera drifts while this keyframe is on screen."""

    start_time: float
    zoom_in: bool
    zoom_range: float  # relative, e.g. 0.12 = 12 %
    pan_x: float  # fraction of output width at full travel
    pan_y: float
    rotation_deg: float
    energy: float

    @classmethod
    def plan(cls, seed: object, key: str, start_time: float, music: Music) -> ShotMotion:
        rng = stable_rng(seed, key, "shot")
        energy = float(np.mean([music.intensity.at(start_time + d) for d in (0.0, 1.5, 3.0)]))
        angle = rng.uniform(0, 2 * math.pi)
        pan = 0.012 + 0.022 * energy
        return cls(
            start_time=start_time,
            zoom_in=bool(rng.random() < 0.6),
            zoom_range=0.05 + 0.09 * energy,
            pan_x=pan * math.cos(angle),
            pan_y=pan * math.sin(angle) * 0.6,
            rotation_deg=float(rng.uniform(-1.0, 1.0)) * (0.4 + 0.8 * energy),
            energy=energy,
        )


@dataclass(frozen=True)
class Pose:
    zoom: float = 1.0
    pan_x: float = 0.0  # fraction of output width
    pan_y: float = 0.0  # fraction of output height
    rotation_deg: float = 0.0

    def scaled(self, depth: float) -> Pose:
        """The pose a layer at `depth` sees (parallax: near layers move more)."""
        return Pose(
            zoom=1.0 + (self.zoom - 1.0) * depth,
            pan_x=self.pan_x * depth,
            pan_y=self.pan_y * depth,
            rotation_deg=self.rotation_deg * min(depth, 1.0),
        )


def shot_pose(shot: ShotMotion, t: float, music: Music, seed: object) -> Pose:
    """Camera pose for a shot at global time t (continuous in t, also before the shot starts).

    Every plan starts from the same neutral pose at the shot's start, so the segment that
    transitions into a keyframe and the segment that continues it meet even when they were
    rendered with different per-segment seeds. `seed` here is the shared (project) noise seed.
    """
    v = (music.progress(t) - music.progress(shot.start_time)) / TRAVEL_SECONDS
    s = travel(v) / 0.71
    direction = 1.0 if shot.zoom_in else -1.0
    zoom = 1.0 + shot.zoom_range * (0.6 + 0.6 * direction * s)
    # Hand-held sway: a few slow sines of musical time, amplitude follows the loudness.
    p = music.progress(t)
    ph = _sway_phases(str(seed))
    amp = 0.002 + 0.006 * music.intensity.at(t)
    sway_x = amp * (math.sin(0.9 * p + ph[0]) + 0.5 * math.sin(2.3 * p + ph[1]))
    sway_y = amp * (math.sin(0.7 * p + ph[2]) + 0.5 * math.sin(1.9 * p + ph[3]))
    sway_r = 0.25 * math.sin(0.5 * p + ph[1]) * (0.3 + music.intensity.at(t))
    return Pose(
        zoom=zoom,
        pan_x=shot.pan_x * s + sway_x,
        pan_y=shot.pan_y * s + sway_y,
        rotation_deg=shot.rotation_deg * s + sway_r,
    )


def beat_frames(beat_times: np.ndarray, fps: int) -> np.ndarray:
    """The frame on which each beat's accent lands: the frame nearest the beat."""
    return np.round(beat_times * fps).astype(np.int64)


def beat_accent(frame: int, fps: int, music: Music, frames: np.ndarray | None = None) -> float:
    """Accent envelope at a global frame: jumps on a beat's frame, decays within the beat.

    Scaled by the beat's strength (with a floor so every beat stays visible) and a little by
    loudness; downbeats hit harder. 0 when the concept has no beats.
    """
    if len(music.beat_times) == 0:
        return 0.0
    bf = beat_frames(music.beat_times, fps) if frames is None else frames
    i = int(np.searchsorted(bf, frame, side="right")) - 1
    if i < 0:
        return 0.0
    dt = (frame - int(bf[i])) / fps
    if i + 1 < len(bf):
        period = float(music.beat_times[i + 1] - music.beat_times[i])
    elif i > 0:
        period = float(music.beat_times[i] - music.beat_times[i - 1])
    else:
        period = 0.5
    if dt > max(period, 1.0 / fps):
        return 0.0
    tau = min(max(0.22 * period, 0.045), 0.12)
    strength = float(music.beat_strength[i])
    amp = (0.55 + 0.45 * strength) * (0.75 + 0.35 * music.raw_intensity.at(frame / fps))
    if music.beat_downbeat[i]:
        amp *= 1.2
    return amp * math.exp(-dt / tau)


def affine_matrix(
    pose: Pose, out_w: int, out_h: int, src_w: int, src_h: int, shift_x: float = 0.0
) -> np.ndarray:
    """2x3 matrix mapping source pixels to output pixels (for cv2.warpAffine).

    The source is a cover-fitted image `SOURCE_SCALE` times the output size; at zoom 1 the output
    shows its central part.
    """
    scale = pose.zoom * out_w / src_w
    theta = math.radians(pose.rotation_deg)
    c, s = math.cos(theta) * scale, math.sin(theta) * scale
    a = np.array([[c, -s], [s, c]], dtype=np.float64)
    src_c = np.array([(src_w - 1) / 2, (src_h - 1) / 2])
    out_c = np.array(
        [(out_w - 1) / 2 + (pose.pan_x + shift_x) * out_w, (out_h - 1) / 2 + pose.pan_y * out_h]
    )
    b = out_c - a @ src_c
    return np.hstack([a, b[:, None]]).astype(np.float32)
