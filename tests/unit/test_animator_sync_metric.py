"""The sync metric on videos whose accents, black frames, freezes and cuts are known."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from services.animator.sync_metric import analyze, match_events

FPS = 30


def _known_frames(
    n: int,
    flashes: list[int],
    black: range = range(0),
    frozen: range = range(0),
    cut: int | None = None,
) -> list[np.ndarray]:
    """A slowly drifting texture with a decaying brightness flash on the given frames."""
    rng = np.random.default_rng(0)
    base = cv2.resize(rng.uniform(60, 160, (9, 16)).astype(np.float32), (64, 36))
    other = cv2.resize(rng.uniform(60, 160, (9, 16)).astype(np.float32), (64, 36))
    frames = []
    for k in range(n):
        img = np.roll(base if cut is None or k < cut else other, k // 2, axis=1)
        if k in frozen:
            img = frames[-1].astype(np.float32)
        else:
            since = [k - f for f in flashes if 0 <= k - f < 10]
            if since:
                img = img + 40 * np.exp(-min(since) / 2.0)
        if k in black:
            img = np.full_like(img, 16)
        frames.append(np.clip(img, 0, 255).astype(np.uint8))
    return frames


def test_accents_on_beats_score_one_and_off_beat_scores_zero() -> None:
    beats = [0.5 * i for i in range(1, 12)]
    flashes = [round(b * FPS) for b in beats]
    on = analyze(_known_frames(180, flashes), beats, fps=FPS)
    assert on.f_measure == pytest.approx(1.0)
    assert on.black_frames == 0 and on.frozen_runs == []
    late = analyze(_known_frames(180, [f + 4 for f in flashes]), beats, fps=FPS)  # 133 ms late
    assert late.f_measure == 0.0
    half = analyze(_known_frames(180, flashes[::2]), beats, fps=FPS)
    assert half.precision == pytest.approx(1.0) and half.recall == pytest.approx(6 / 11)


def test_black_frozen_and_join_jumps_are_reported() -> None:
    frames = _known_frames(120, [30, 60], black=range(100, 110), frozen=range(40, 46), cut=80)
    report = analyze(frames, [1.0, 2.0], fps=FPS, joins=[20, 80])
    assert report.black_frames == 10
    assert report.frozen_runs == [(40, 6)]
    assert report.join_ratios[20] < 1.5  # a seamless join
    assert report.join_ratios[80] > 5  # a hard cut to another picture


def test_analyze_reads_a_video_file(tmp_path: Path) -> None:
    beats = [0.5 * i for i in range(1, 6)]
    frames = _known_frames(90, [round(b * FPS) for b in beats])
    path = tmp_path / "known.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=FPS)
        s.width, s.height, s.pix_fmt = 64, 36, "yuv420p"
        for img in frames:
            rgb = np.repeat(img[..., None], 3, axis=2)
            for p in s.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    report = analyze(path, beats)
    assert report.fps == FPS and report.frame_count == 90
    assert report.f_measure == pytest.approx(1.0)


def test_match_events_is_one_to_one_within_tolerance() -> None:
    assert match_events([1.0, 1.01], [1.0]) == pytest.approx((0.5, 1.0, 2 / 3))
    assert match_events([1.08], [1.0]) == (0.0, 0.0, 0.0)
    assert match_events([], []) == (1.0, 1.0, 1.0)


def test_a_dark_scene_is_not_black() -> None:
    night = np.full((36, 64), 8, np.uint8)
    night[5:9, ::6] = 200  # lit windows
    frames = [np.roll(night, k, axis=1) for k in range(30)]
    assert analyze(frames, [], fps=FPS).black_frames == 0
    assert analyze([np.full((36, 64), 16, np.uint8)] * 5, [], fps=FPS).black_frames == 5
