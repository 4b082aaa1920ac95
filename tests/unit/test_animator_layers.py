"""Layered keyframes: near layers move more than far ones (parallax); colours survive."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from lumiere.v1 import concept_pb2

from services.animator import transitions as tr
from services.animator.motion import Pose, ShotMotion
from services.animator.music import Music
from services.animator.planes import planes_to_rgb
from services.animator.render import (
    FAR_DEPTH,
    NEAR_DEPTH,
    SegmentPlan,
    SegmentRenderer,
    prepare_shot,
)

W, H = 320, 180


def _layers() -> tuple[np.ndarray, list[np.ndarray]]:
    bg = np.full((H, W, 3), 90, np.uint8)
    bg[:, 150:156] = 10  # a dark vertical stripe far away
    fg = np.zeros((H, W, 4), np.uint8)
    cv2.circle(fg, (100, 130), 12, (250, 40, 40, 255), -1)  # a red disc up close
    return bg, [np.dstack([bg, np.full((H, W), 255, np.uint8)]), fg]


def _renderer(shot) -> SegmentRenderer:  # type: ignore[no-untyped-def]
    music = Music.from_concept(concept_pb2.Concept(duration_seconds=10))
    plan = SegmentPlan(
        width=W,
        height=H,
        fps=25,
        start=0,
        end=10,
        seed="t",
        music=music,
        from_shot=shot,
        to_shot=None,
        landing_frame=10,
        transition=tr.TransitionPlan(tr.CROSSFADE, 1),
        particles=False,
    )
    return SegmentRenderer(plan)


def _positions(rgb: np.ndarray) -> tuple[float, float]:
    """x of the dark stripe (rows away from the disc) and of the red disc's centroid."""
    stripe = float(np.argmin(rgb[:60, :, 1].mean(axis=0)))
    red = (rgb[..., 0] > 180) & (rgb[..., 1] < 100)
    return stripe, float(np.argwhere(red)[:, 1].mean())


def test_near_layer_moves_more_than_far_layer() -> None:
    image, layers = _layers()
    motion = ShotMotion(0.0, True, 0.0, 0.0, 0.0, 0.0, 0.5)
    shot = prepare_shot(image, layers, W, H, motion, 0)
    assert shot.near is not None and not shot.near.defocused  # compact: full resolution
    r = _renderer(shot)
    # Drive the pose directly: the same pan seen by the far and the near plane.
    base = planes_to_rgb(_render_pose(r, shot, Pose()))
    panned = planes_to_rgb(_render_pose(r, shot, Pose(pan_x=0.05)))
    (s0, d0), (s1, d1) = _positions(base), _positions(panned)
    far_shift, near_shift = s1 - s0, d1 - d0
    assert far_shift == pytest.approx(0.05 * W * FAR_DEPTH, abs=2)
    assert near_shift == pytest.approx(0.05 * W * NEAR_DEPTH, abs=2)
    # colour of the near layer survives premultiplied YUV compositing
    red = (base[..., 0] > 180) & (base[..., 1] < 100)
    assert red.sum() > 300
    assert abs(int(base[60, 40, 1]) - 90) <= 3  # background untouched


def _render_pose(r: SegmentRenderer, shot, pose: Pose):  # type: ignore[no-untyped-def]
    import services.animator.render as render_mod

    original = render_mod.shot_pose
    render_mod.shot_pose = lambda *_a, **_k: pose  # type: ignore[assignment]
    try:
        return r.shot_image(shot, 0)
    finally:
        render_mod.shot_pose = original


def test_scattered_foreground_is_defocused_and_still_composited() -> None:
    image, layers = _layers()
    rng = np.random.default_rng(0)
    fg = np.zeros((H, W, 4), np.uint8)
    for _ in range(40):  # sparkles all over the frame
        x, y = int(rng.integers(0, W)), int(rng.integers(0, H))
        cv2.circle(fg, (x, y), 3, (255, 255, 255, 255), -1)
    shot = prepare_shot(image, [layers[0], fg], W, H, ShotMotion(0, True, 0, 0, 0, 0, 0.5), 0)
    assert shot.near is not None and shot.near.defocused
    out = planes_to_rgb(_renderer(shot).shot_image(shot, 0))
    assert out[..., 0].max() > 200  # sparkles visible (soft)
    assert np.median(out[..., 1]) == pytest.approx(90, abs=3)
