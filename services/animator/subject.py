"""The subject's dance: how the character plane moves to the beat and when it changes pose.

The seeder draws the subject as its own layer ("character", plus "character_pose1".. in other
poses at the same place and size). The animator moves that plane on its own, over the scene:
a hop that lands on every beat (lowest on the beat frame, a small squash as it lands), a sway
from side to side over two beats, and a pose switch on beats - every beat in loud passages,
on downbeats in ordinary ones, every second bar when the music is calm. Everything is a pure
function of the music and the global time, so segments rendered apart agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from services.animator.music import Music

# Hop height as a fraction of the subject's height: at silence / added at full loudness.
HOP_BASE, HOP_LOUD = 0.02, 0.045
SWAY_BASE_DEG, SWAY_LOUD_DEG = 0.8, 2.4
SQUASH = 0.05  # vertical squash on landing, at a full accent
# Pose-switch rate by loudness at the beat.
LOUD, CALM = 0.62, 0.32


@dataclass(frozen=True)
class SubjectPose:
    lift: float  # upward offset, fraction of the subject's height
    rotation_deg: float  # around the feet
    squash: float  # vertical squash (x stretches by half as much)


def beat_phase(music: Music, t: float) -> tuple[int, float]:
    """Index of the last beat at or before t and the fraction of the way to the next one
    (-1 before the first beat)."""
    bt = music.beat_times
    i = int(np.searchsorted(bt, t, side="right")) - 1
    if i < 0 or len(bt) == 0:
        return -1, 0.0
    if i + 1 < len(bt):
        period = float(bt[i + 1] - bt[i])
    elif i > 0:
        period = float(bt[i] - bt[i - 1])
    else:
        period = 0.5
    return i, min(max((t - float(bt[i])) / max(period, 1e-3), 0.0), 1.0)


def subject_pose(music: Music, t: float, accent: float, amp: float = 1.0) -> SubjectPose:
    """The subject's offset from where it was drawn, at global time t.

    `accent` is the beat accent at this frame (motion.beat_accent); `amp` the framing's scale
    (close shots move less).
    """
    energy = music.intensity.at(t)
    i, phi = beat_phase(music, t)
    if i < 0:
        # Before the first beat (or with none): a slow breathing sway on musical time.
        p = music.progress(t)
        return SubjectPose(0.0, amp * SWAY_BASE_DEG * math.sin(0.8 * p), 0.0)
    # |sin| hop: zero on the beat with a sharp reversal there (the landing), highest between.
    lift = amp * (HOP_BASE + HOP_LOUD * energy) * math.sin(math.pi * phi)
    sway = amp * (SWAY_BASE_DEG + SWAY_LOUD_DEG * energy) * math.sin(math.pi * (i % 2 + phi))
    squash = amp * SQUASH * min(accent, 1.2)
    return SubjectPose(lift, sway, squash)


def subject_matrix(
    camera: np.ndarray, anchor: tuple[float, float], height_px: float, pose: SubjectPose
) -> np.ndarray:
    """camera (2x3, source -> output) after the subject's own move about its feet (`anchor`,
    in source pixels): squash, sway, then the hop."""
    ax, ay = anchor
    theta = math.radians(pose.rotation_deg)
    c, s = math.cos(theta), math.sin(theta)
    sx, sy = 1.0 + 0.5 * pose.squash, 1.0 - pose.squash
    a = np.array([[c * sx, -s * sy], [s * sx, c * sy]], dtype=np.float64)
    b = np.array([ax, ay - pose.lift * height_px]) - a @ np.array([ax, ay])
    local = np.vstack([np.hstack([a, b[:, None]]), [0.0, 0.0, 1.0]])
    return (camera.astype(np.float64) @ local).astype(np.float32)


def pose_switch_frames(music: Music, start_time: float, end_time: float, fps: int) -> np.ndarray:
    """Global frames on which the subject takes its next pose, for a shot on screen from
    start_time: every beat where it is loud, downbeats in between, every second downbeat where
    it is calm. The shot's first frame keeps the drawn pose."""
    bt = music.beat_times
    out: list[int] = []
    downs = 0
    for i in range(len(bt)):
        t = float(bt[i])
        if t <= start_time + 0.5 / fps:
            continue
        if t >= end_time:
            break
        level = music.raw_intensity.at(t)
        if music.beat_downbeat[i]:
            downs += 1
        if (
            level >= LOUD
            or (level >= CALM and music.beat_downbeat[i])
            or (music.beat_downbeat[i] and downs % 2 == 1)
        ):
            out.append(int(round(t * fps)))
    return np.asarray(out, dtype=np.int64)


def pose_at(switch_frames: np.ndarray, frame: int, poses: int) -> int:
    """Which of `poses` drawings shows at this global frame."""
    if poses <= 1:
        return 0
    return int(np.searchsorted(switch_frames, frame, side="right")) % poses
