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
from lumiere.v1 import storyboard_pb2

from services.animator import transitions as tr
from services.animator.music import Music
from services.common.scene_vocabulary import LOOKS

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


# How much of the shot's length its camera move takes to reach ~2/3 of its range (in musical
# time): a shot-aware move is mostly done by the cut, whatever the shot's length.
SHOT_TRAVEL_SHARE = 0.9
MIN_SHOT_TRAVEL_S = 1.5
# A muted look (haze, noir, day, ...) keeps its neutral colours: the harmony's colour drift
# tints it at this share of a vivid look's.
MUTED_DRIFT = 0.3

_M = storyboard_pb2
# Per framing: (amplitude, travel-time factor). Close-ups and details move subtly, wide shots
# slowly; abstract shots a little more than anything.
FRAMING_MOTION: dict[int, tuple[float, float]] = {
    _M.FRAMING_UNSPECIFIED: (1.0, 1.0),
    _M.FRAMING_WIDE: (0.85, 1.45),
    _M.FRAMING_MEDIUM: (1.0, 1.0),
    _M.FRAMING_CLOSE_UP: (0.6, 1.1),
    _M.FRAMING_DETAIL: (0.5, 1.1),
    _M.FRAMING_SUBJECT: (0.8, 1.0),
    _M.FRAMING_ABSTRACT: (1.2, 0.9),
}


@dataclass(frozen=True)
class ShotMotion:
    """Per-keyframe camera plan: where the camera drifts while this keyframe is on screen.

    The first seven fields are the key-moment plan (a zoom drift plus a little pan and roll).
    A storyboard shot (`for_shot`) also sets the move's base zoom (the margin its pan, roll or
    shake needs), its travel time, the hand-held sway, the parallax between depth planes and how
    hard the beat punches hit.
    """

    start_time: float
    zoom_in: bool
    zoom_range: float  # relative, e.g. 0.12 = 12 %
    pan_x: float  # fraction of output width at full travel
    pan_y: float
    rotation_deg: float
    energy: float
    move: int = _M.CAMERA_MOVE_UNSPECIFIED
    zoom_base: float | None = None  # None: the key-moment zoom curve
    travel_seconds: float = TRAVEL_SECONDS
    sway: float = 1.0  # hand-held sway multiplier
    parallax: float = 1.0  # multiplies each depth plane's offset from depth 1
    punch: float = 1.0  # beat-punch multiplier
    subject_amp: float = 1.0  # how much the subject plane moves to the beat (framing)
    colour_drift: float = 1.0  # how far the sustained harmony tints the picture (the look)
    flash_decay_s: float = tr.FLASH_DECAY_S  # a flash cut into the shot fades this fast
    # The chroma direction (unit Cb, Cr) of the harmony's colour cast: the look's own colour
    # (from the keyframe's palette, see cast_direction); None: one per repeat group.
    cast: tuple[float, float] | None = None

    @classmethod
    def plan(
        cls,
        seed: object,
        key: str,
        start_time: float,
        music: Music,
        shot: storyboard_pb2.Shot | None = None,
    ) -> ShotMotion:
        if shot is not None:
            return cls.for_shot(shot, music)
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

    @classmethod
    def for_shot(cls, shot: storyboard_pb2.Shot, music: Music) -> ShotMotion:
        """The storyboard shot's camera move, scaled by its framing and the music's energy.

        A pure function of the shot (its id and seed pick directions), never of the segment, so
        the segment that transitions into a shot and the one that shows it agree.
        """
        rng = stable_rng(shot.id, shot.seed, "move")
        t0, t1 = float(shot.start_time), float(max(shot.end_time, shot.start_time + 0.5))
        samples = [music.intensity.at(t0 + (t1 - t0) * f) for f in (0.0, 0.5, 1.0)]
        energy = float(np.clip(max(float(np.mean(samples)), float(shot.intensity)), 0.0, 1.0))
        amp_f, slow_f = FRAMING_MOTION.get(shot.framing, (1.0, 1.0))
        amp = amp_f * (0.7 + 0.6 * energy)
        length = music.progress(t1) - music.progress(t0)
        travel_s = max(MIN_SHOT_TRAVEL_S, SHOT_TRAVEL_SHARE * length) * slow_f
        side = 1.0 if rng.random() < 0.5 else -1.0
        mv = shot.move
        fields: dict[str, float | bool] = dict(
            zoom_in=True, zoom_range=0.0, pan_x=0.0, pan_y=0.0, rotation_deg=0.0
        )
        zoom_base, sway, parallax, punch = 0.05, 0.6, 1.0, 1.0
        if mv == _M.CAMERA_MOVE_PUSH_IN:
            fields.update(zoom_range=0.11 * amp, pan_x=0.008 * side)
            zoom_base = 0.03
        elif mv == _M.CAMERA_MOVE_PULL_OUT:
            fields.update(zoom_in=False, zoom_range=0.11 * amp, pan_x=0.008 * side)
            zoom_base = 0.03 + 0.11 * amp
        elif mv == _M.CAMERA_MOVE_PAN:
            # A pan turns the camera: every depth plane moves alike (almost no parallax).
            fields.update(pan_x=0.085 * amp * side, zoom_range=0.01)
            zoom_base, parallax = 0.1, 0.25
        elif mv == _M.CAMERA_MOVE_TRUCK:
            # A truck moves the camera sideways: near planes slide past far ones.
            fields.update(pan_x=0.06 * amp * side, zoom_range=0.01)
            zoom_base, parallax = 0.1, 1.8
        elif mv == _M.CAMERA_MOVE_ORBIT:
            fields.update(rotation_deg=3.2 * amp * side, pan_x=-0.025 * amp * side)
            fields.update(zoom_range=0.03 * amp)
            zoom_base, parallax = 0.1, 1.4
        elif mv == _M.CAMERA_MOVE_CRANE:
            up = 1.0 if rng.random() < 0.6 else -1.0
            fields.update(pan_y=0.075 * amp * up, zoom_range=0.03 * amp)
            zoom_base, parallax = 0.1, 1.3
        elif mv == _M.CAMERA_MOVE_HANDHELD:
            fields.update(zoom_range=0.02 * amp)
            zoom_base, sway = 0.07, 3.2 * amp
        elif mv == _M.CAMERA_MOVE_LOCKED:
            zoom_base, sway, punch = 0.04, 0.15, 1.9
        else:  # unspecified move in a shot: the key-moment style drift
            fields.update(zoom_range=0.08 * amp, pan_x=0.02 * amp * side)
            fields.update(zoom_in=bool(rng.random() < 0.6))
            zoom_base = 0.03 if fields["zoom_in"] else 0.03 + 0.08 * amp
        subject_amp = {_M.FRAMING_CLOSE_UP: 0.55, _M.FRAMING_DETAIL: 0.4}.get(shot.framing, 1.0)
        return cls(
            start_time=t0,
            zoom_in=bool(fields["zoom_in"]),
            zoom_range=float(fields["zoom_range"]),
            pan_x=float(fields["pan_x"]),
            pan_y=float(fields["pan_y"]),
            rotation_deg=float(fields["rotation_deg"]),
            energy=energy,
            move=mv,
            zoom_base=zoom_base,
            travel_seconds=travel_s,
            sway=sway,
            parallax=parallax,
            punch=punch,
            subject_amp=subject_amp,
            colour_drift=1.0 if LOOKS[shot.look % len(LOOKS)].vivid else MUTED_DRIFT,
            flash_decay_s=min(tr.FLASH_DECAY_S, tr.FLASH_SHOT_SHARE * (t1 - t0)),
        )

    def depth(self, depth: float) -> float:
        """The parallax depth a plane at `depth` gets under this move."""
        return 1.0 + (depth - 1.0) * self.parallax


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
    v = (music.progress(t) - music.progress(shot.start_time)) / shot.travel_seconds
    s = travel(v) / 0.71
    direction = 1.0 if shot.zoom_in else -1.0
    if shot.zoom_base is None:
        zoom = 1.0 + shot.zoom_range * (0.6 + 0.6 * direction * s)
    else:
        zoom = 1.0 + shot.zoom_base + shot.zoom_range * direction * s
    # Hand-held sway: a few slow sines of musical time, amplitude follows the loudness.
    p = music.progress(t)
    ph = _sway_phases(str(seed))
    amp = (0.002 + 0.006 * music.intensity.at(t)) * shot.sway
    sway_x = amp * (math.sin(0.9 * p + ph[0]) + 0.5 * math.sin(2.3 * p + ph[1]))
    sway_y = amp * (math.sin(0.7 * p + ph[2]) + 0.5 * math.sin(1.9 * p + ph[3]))
    sway_r = 0.25 * math.sin(0.5 * p + ph[1]) * (0.3 + music.intensity.at(t))
    if shot.sway > 1.0:
        # Hand-held: a faster jitter on top of the drift (a camera operator's breathing/steps).
        sway_x += 0.4 * amp * math.sin(6.1 * p + ph[2]) * math.sin(1.3 * p + ph[0])
        sway_y += 0.4 * amp * math.sin(7.3 * p + ph[3])
        sway_r *= min(shot.sway, 2.0)
    elif shot.sway < 1.0:
        sway_r *= shot.sway
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
