"""Conforming generated clips to their shot: exact frame counts, interpolation, joins, fit."""

from __future__ import annotations

import numpy as np

from services.animator.conform import ConformedClip, FittedFrames, fit_frames, join, positions
from services.animator.planes import planes_to_rgb
from services.common import contract


def moving_clip(
    n: int, w: int = 160, h: int = 96, step: int = 3, start: int = 0
) -> list[np.ndarray]:
    """A textured bar travelling right `step` px a frame over a gradient (flow has something
    to follow; every frame differs from the last)."""
    rng = np.random.default_rng(1)
    tex = rng.integers(0, 255, (h, 24, 3), dtype=np.uint8)
    base = np.zeros((h, w, 3), np.uint8)
    base[..., 0] = np.linspace(30, 200, w, dtype=np.uint8)[None, :]
    base[..., 2] = 90
    frames = []
    for i in range(n):
        f = base.copy()
        x = (start + i) * step % (w - 24)
        f[:, x : x + 24] = tex
        frames.append(f)
    return frames


def mean_abs(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.abs(a.astype(np.int16) - b.astype(np.int16))))


def test_a_16fps_81_frame_clip_fills_a_2_3s_shot_at_30fps_exactly() -> None:
    n_out = contract.time_to_frame(2.3, 30)
    assert n_out == 69
    sources = FittedFrames(moving_clip(81), 128, 72)
    clip = ConformedClip(sources, 16, n_out, 30)
    assert len(clip) == 69
    frames = [clip.frame(j) for j in range(len(clip))]
    assert len(sources._done) == 38  # the trimmed tail is never fitted
    assert all(f.size == (128, 72) for f in frames)
    # Real time: 69 frames at 30 fps cover 2.27 s of the 5.06 s clip; the rest is trimmed.
    assert clip.positions[-1] == 68 * 16 / 30
    # 16 -> 30 fps: the frames between source frames are interpolated, not repeated.
    assert clip.interpolated > 50
    for a, b in zip(frames, frames[1:], strict=False):
        assert not np.array_equal(a.y, b.y)


def test_a_too_short_clip_is_interpolated_not_frozen() -> None:
    src = moving_clip(9)
    clip = ConformedClip(fit_frames(src, 160, 96), 8, 60, 30)  # 1.1 s of clip for a 2 s shot
    assert len(clip) == 60
    assert clip.positions[0] == 0 and clip.positions[-1] == 8  # stretched end to end
    frames = [planes_to_rgb(clip.frame(j)) for j in range(60)]
    for a, b in zip(frames, frames[1:], strict=False):
        assert not np.array_equal(a, b)  # never two identical frames in a row
    # Half-way between source frames 2 and 3 the bar is half-way too (flow, not a cross-fade):
    # closer to the true in-between picture than the plain blend of the two frames is.
    j = int(np.argmin(np.abs(clip.positions - 2.5)))
    truth = moving_clip(1, step=1, start=int(round(clip.positions[j] * 3)))[0]
    blend = ((src[2].astype(np.float32) + src[3]) / 2).astype(np.uint8)
    assert mean_abs(frames[j], truth) < mean_abs(blend, truth)


def test_positions_rules() -> None:
    assert positions(5, 24, 1, 30).tolist() == [0.0]
    assert positions(1, 24, 4, 30).tolist() == [0.0] * 4  # a still
    # A clip exactly as long as the shot keeps every frame.
    assert positions(30, 30, 30, 30).tolist() == list(range(30))


def test_fit_covers_the_frame_whatever_the_aspect() -> None:
    portrait = [np.full((200, 100, 3), 128, np.uint8)]
    (p,) = fit_frames(portrait, 160, 90)
    assert p.size == (160, 90) and p.u.shape == (45, 80)


def test_pieces_join_without_a_jump() -> None:
    whole = moving_clip(41)
    # Two pieces, the second started from the first one's last frame (as the backends are asked).
    first, second = whole[:21], whole[20:]
    joined = join([first, second])
    assert len(joined) == 41 and all(
        np.array_equal(a, b) for a, b in zip(joined, whole, strict=True)
    )
    clip = ConformedClip(fit_frames(joined, 160, 96), 16, 75, 30)
    frames = [planes_to_rgb(clip.frame(j)) for j in range(len(clip))]
    changes = [mean_abs(a, b) for a, b in zip(frames, frames[1:], strict=False)]
    join_at = int(np.searchsorted(clip.positions, 20))  # first output frame past the join
    ordinary = float(np.median(changes))
    assert max(changes[join_at - 2 : join_at + 2]) < 2.0 * ordinary
