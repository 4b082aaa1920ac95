"""The video benchmark's pixel measurements on synthetic frame sequences with known edits."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from bench.video_cuts import (
    FrameFeatures,
    SectionSpan,
    cut_rate_ratio,
    detect_cuts,
    detect_gradual,
    longest_frozen,
    look_contrast,
    share_near,
    shots,
)

FPS = 30.0
W, H = 160, 90


def scene(seed: int, hue_shift: int = 0, size: tuple[int, int] = (W, H)) -> np.ndarray:
    """A smooth random picture: a colour gradient plus a few soft blobs, RGB uint8."""
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = rng.uniform(40, 200, 3).astype(np.float32)
    grad = rng.uniform(-0.6, 0.6, (3, 2)).astype(np.float32)
    img = base[None, None, :] + xx[..., None] * grad[:, 0] + yy[..., None] * grad[:, 1]
    for _ in range(6):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(6, 25)
        colour = rng.uniform(-90, 90, 3).astype(np.float32)
        blob = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
        img += blob[..., None] * colour
    img = np.roll(img, hue_shift, axis=2) if hue_shift else img
    return np.clip(img, 0, 255).astype(np.uint8)


def drifting(img_big: np.ndarray, frames: int, step: float = 1.0, x0: float = 0.0) -> list:
    """A camera pan across a larger picture: `step` pixels per frame."""
    out = []
    for i in range(frames):
        x = int(round(x0 + i * step))
        out.append(img_big[:H, x : x + W].copy())
    return out


def shot(seed: int, frames: int, step: float = 0.5) -> list:
    return drifting(scene(seed, size=(W + int(frames * step) + 2, H)), frames, step)


def flash(frames: list, at: int, strength: float = 0.9, decay: int = 4) -> list:
    out = [f.copy() for f in frames]
    for i in range(at, min(len(out), at + decay)):
        a = strength * (1 - (i - at) / decay)
        out[i] = np.clip(out[i] * (1 - a) + 255 * a, 0, 255).astype(np.uint8)
    return out


def crossfade(a: list, b: list, length: int) -> list:
    """a, then `length` frames blending into b, then b."""
    mix = []
    for i in range(length):
        t = (i + 1) / (length + 1)
        mix.append((a[-1] * (1 - t) + b[0] * t).astype(np.uint8))
    return [*a, *mix, *b]


def features(frames: list) -> FrameFeatures:
    return FrameFeatures.of(frames)


def test_hard_cuts_are_found_on_their_frame() -> None:
    frames = shot(1, 40) + shot(2, 35) + shot(3, 50)
    assert detect_cuts(features(frames), FPS) == [40, 75]


def test_a_cut_within_one_palette_is_found() -> None:
    # Same colours, other composition: the luma layout tells them apart.
    a = scene(4)
    b = np.ascontiguousarray(a[::-1, ::-1])
    frames = [a] * 30 + [b] * 30
    assert detect_cuts(features(frames), FPS) == [30]


def test_a_cut_into_a_flash_is_a_cut() -> None:
    b = flash(shot(6, 40), 0)
    assert detect_cuts(features(shot(5, 40) + b), FPS) == [40]


def test_a_flash_cut_is_a_cut_on_its_white_frame() -> None:
    # As the animator's flash cut: 2 frames ramp to white, the new shot comes out of the flash.
    a, b = shot(13, 40), flash(shot(14, 40), 0, strength=1.0, decay=8)
    ramp = [np.clip(a[-1] * (1 - t) + 255 * t, 0, 255).astype(np.uint8) for t in (0.33, 0.66)]
    assert detect_cuts(features(a + ramp + b), FPS) == [42]


def test_flashes_and_beat_punches_are_not_cuts() -> None:
    frames = shot(7, 120)
    for at in range(10, 120, 15):
        frames = flash(frames, at, strength=0.7 if at % 2 else 0.35)
    assert detect_cuts(features(frames), FPS) == []


def test_a_punch_while_a_flash_decays_is_not_a_cut() -> None:
    frames = flash(shot(12, 90), 30, strength=1.0, decay=8)
    frames = flash(frames, 35, strength=0.6, decay=3)
    assert detect_cuts(features(frames), FPS) == []


def test_camera_moves_are_not_cuts_or_transitions() -> None:
    pan = shot(8, 150, step=3.0)
    big = scene(9, size=(2 * W, 2 * H))
    zoom = []
    for i in range(90):
        s = 1.0 - 0.4 * i / 90
        cw, ch = int(2 * W * s), int(2 * H * s)
        crop = big[(2 * H - ch) // 2 :][:ch, (2 * W - cw) // 2 :][:, :cw]
        zoom.append(cv2.resize(crop, (W, H), interpolation=cv2.INTER_AREA))
    feat = features(pan + pan[-1:] * 30 + zoom)
    cuts = detect_cuts(feat, FPS)
    # The only edit is the join from the pan's last frame into the zoom.
    assert cuts == [180]
    assert detect_gradual(feat, FPS, cuts) == []


def test_a_crossfade_is_a_gradual_transition_not_a_cut() -> None:
    frames = crossfade(shot(10, 60), shot(11, 60), 15)
    feat = features(frames)
    cuts = detect_cuts(feat, FPS)
    assert cuts == []
    (centre,) = detect_gradual(feat, FPS, cuts)
    assert abs(centre - 67) <= 8


def test_shots_tile_the_frames() -> None:
    assert shots([30, 75], 100) == [(0, 30), (30, 75), (75, 100)]
    assert shots([], 10) == [(0, 10)]


@pytest.mark.parametrize(
    ("times", "expected"),
    [([1.0, 2.02, 3.5], 2 / 3), ([0.5], 1.0), ([], None)],
)
def test_share_near_a_grid(times: list[float], expected: float | None) -> None:
    assert share_near(times, [0.5, 1.0, 2.0, 3.0], tol=1 / 30) == expected


SECTIONS = [
    SectionSpan(0, 20, "verse", 0),
    SectionSpan(20, 30, "chorus", 1),
    SectionSpan(30, 50, "verse", 0),
    SectionSpan(50, 60, "chorus", 1),
]


def test_cut_rate_ratio_compares_choruses_with_verses() -> None:
    cuts = [5, 10, 15, 22, 24, 26, 28, 35, 40, 52, 54, 56, 58]  # verses 5/40 s, choruses 8/20 s
    assert cut_rate_ratio(cuts, SECTIONS) == pytest.approx((8 / 20) / (5 / 40))


def test_cut_rate_ratio_needs_both_sides() -> None:
    assert cut_rate_ratio([1.0], SECTIONS[:1]) is None


def test_look_contrast_separates_repeat_groups() -> None:
    red, blue = np.zeros(4), np.zeros(4)
    red[0], blue[3] = 1.0, 1.0
    near_red = np.array([0.9, 0.1, 0, 0])
    hists = np.stack([red, blue, near_red, blue])
    diff, same = look_contrast(hists, [0, 1, 2, 3], SECTIONS)
    assert same == pytest.approx(0.05)  # verse 1 vs verse 2, chorus 1 vs chorus 2
    assert diff == pytest.approx(1.0)


def test_a_slow_drift_is_not_frozen_but_a_still_is() -> None:
    still = [np.full((9, 16), 100, np.uint8)] * 70
    drift = [np.full((9, 16), 100 + i // 3, np.uint8) for i in range(70)]
    assert longest_frozen(still) == 70
    assert longest_frozen(drift) <= 6
