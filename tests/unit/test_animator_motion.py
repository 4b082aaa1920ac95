"""Motion math of the animator: easing, beat accents, camera continuity, transitions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from lumiere.v1 import animator_pb2, concept_pb2

from services.animator import transitions as tr
from services.animator.motion import (
    Pose,
    ShotMotion,
    affine_matrix,
    beat_accent,
    ease_in_out,
    shot_pose,
    smoothstep,
    travel,
)
from services.animator.music import Music, SampledCurve


def _music(beats: list[float], strengths: list[float] | None = None, dur: float = 10.0) -> Music:
    strengths = strengths or [0.8] * len(beats)
    concept = concept_pb2.Concept(
        duration_seconds=dur,
        beats=[concept_pb2.Beat(time=t, strength=s) for t, s in zip(beats, strengths, strict=True)],
    )
    return Music.from_concept(concept)


def test_easing_endpoints_and_monotonic() -> None:
    for f in (smoothstep, ease_in_out):
        assert f(0.0) == 0.0 and f(1.0) == pytest.approx(1.0)
        assert f(-1.0) == 0.0 and f(2.0) == pytest.approx(1.0)
        xs = np.linspace(0, 1, 50)
        assert np.all(np.diff([f(x) for x in xs]) >= 0)
    assert smoothstep(0.5) == pytest.approx(0.5)


def test_travel_is_continuous_monotonic_and_bounded() -> None:
    assert travel(0.0) == 0.0
    vs = np.linspace(-1, 20, 500)
    ys = np.array([travel(v) for v in vs])
    assert np.all(np.diff(ys) >= 0)
    assert np.all(np.diff(ys[vs < 5]) > 0)
    assert ys.max() < 0.72 and ys.min() < 0  # defined before the shot starts, too


def test_sampled_curve_integral_matches_numeric() -> None:
    values = np.array([0.0, 1.0, 0.5, 0.5, 1.0])
    curve = SampledCurve.build(2.0, values)
    ts = np.linspace(0, 2, 2001)
    numeric = np.trapezoid([curve.at(t) for t in ts], ts)
    assert curve.integrate(2.0) == pytest.approx(numeric, rel=1e-3)
    assert curve.integrate(3.0) == pytest.approx(numeric + 1.0)


def test_accent_lands_on_the_beat_frame_and_decays_within_the_beat() -> None:
    fps = 30
    music = _music([1.0, 1.5, 2.0])
    frames = [beat_accent(k, fps, music) for k in range(0, 90)]
    assert all(a == 0.0 for a in frames[:30])  # nothing before the first beat
    for beat_frame in (30, 45, 60):
        assert frames[beat_frame] > 0.5
        assert frames[beat_frame] > frames[beat_frame - 1] + 0.4  # sudden onset on the frame
        assert frames[beat_frame + 1] < frames[beat_frame]
    # decayed to almost nothing before the next beat
    assert frames[44] < 0.05 * frames[30]


def test_accent_scales_with_strength_and_is_absent_without_beats() -> None:
    fps = 25
    strong = _music([1.0], [1.0])
    weak = _music([1.0], [0.1])
    assert beat_accent(25, fps, strong) > beat_accent(25, fps, weak) > 0.3
    assert beat_accent(25, fps, _music([])) == 0.0


def test_beat_accent_frame_is_the_nearest_frame() -> None:
    music = _music([1.02])  # 30.6 frames at 30 fps -> frame 31
    assert beat_accent(30, 30, music) == 0.0
    assert beat_accent(31, 30, music) > 0.5


def test_shot_pose_is_continuous_and_seed_independent_at_shot_start() -> None:
    music = _music([0.5 * i for i in range(20)])
    a = ShotMotion.plan("p:1", "km1", 3.0, music)
    b = ShotMotion.plan("p:2", "km1", 3.0, music)
    assert a != b
    pa, pb = shot_pose(a, 3.0, music, "p"), shot_pose(b, 3.0, music, "p")
    assert pa.zoom == pytest.approx(pb.zoom) and pa.pan_x == pytest.approx(pb.pan_x)
    poses = [shot_pose(a, 2.0 + k / 30, music, "p") for k in range(200)]
    zooms = np.array([p.zoom for p in poses])
    pans = np.array([p.pan_x for p in poses])
    assert np.max(np.abs(np.diff(zooms))) < 0.005
    assert np.max(np.abs(np.diff(pans))) < 0.002
    assert zooms.min() >= 0.98 and zooms.max() - zooms.min() > 0.01  # it moves


def test_louder_music_moves_faster() -> None:
    quiet = Music.from_concept(
        concept_pb2.Concept(intensity=concept_pb2.Curve(rate_hz=10, values=[0.05] * 200))
    )
    loud = Music.from_concept(
        concept_pb2.Concept(intensity=concept_pb2.Curve(rate_hz=10, values=[0.95] * 200))
    )
    assert loud.progress(10.0) > 2 * quiet.progress(10.0)
    assert (
        ShotMotion.plan("s", "k", 0, loud).zoom_range
        > ShotMotion.plan("s", "k", 0, quiet).zoom_range
    )


def test_affine_matrix_centres_the_source() -> None:
    m = affine_matrix(Pose(), 1280, 720, 1472, 828)
    centre = m @ np.array([(1472 - 1) / 2, (828 - 1) / 2, 1.0])
    assert centre == pytest.approx([(1280 - 1) / 2, (720 - 1) / 2])
    assert m[0, 0] == pytest.approx(1280 / 1472)
    rotated = affine_matrix(Pose(rotation_deg=90), 100, 100, 100, 100)
    assert rotated[0, 1] == pytest.approx(-1.0, abs=1e-6)
    assert math.isclose(rotated[1, 0], 1.0, abs_tol=1e-6)


def _concept_with_sections() -> concept_pb2.Concept:
    c = concept_pb2.Concept(duration_seconds=60, downbeat_times=[0, 2, 4, 20, 40])
    c.sections.add(start=0, end=20, role=concept_pb2.SECTION_ROLE_VERSE, energy=0.4)
    c.sections.add(start=20, end=40, role=concept_pb2.SECTION_ROLE_CHORUS, energy=0.9)
    c.sections.add(start=40, end=60, role=concept_pb2.SECTION_ROLE_BRIDGE, energy=0.45)
    c.key_moments.add(id="a", time=0)
    c.key_moments.add(id="b", time=10, role=concept_pb2.MOMENT_ROLE_BUILD)
    c.key_moments.add(id="c", time=20, role=concept_pb2.MOMENT_ROLE_CLIMAX)
    c.key_moments.add(id="d", time=40, role=concept_pb2.MOMENT_ROLE_BRIDGE)
    c.key_moments.add(id="e", time=50)
    return c


def test_transition_follows_the_kind_of_change() -> None:
    c = _concept_with_sections()
    assert tr.choose_transition(c, "c", 20) == animator_pb2.TRANSITION_KIND_FLASH_CUT
    assert tr.choose_transition(c, "b", 10) == animator_pb2.TRANSITION_KIND_ZOOM_THROUGH
    assert tr.choose_transition(c, "d", 40) == animator_pb2.TRANSITION_KIND_SLIDE
    assert (
        tr.choose_transition(concept_pb2.Concept(), "", 5) == animator_pb2.TRANSITION_KIND_CROSSFADE
    )


def test_transition_length() -> None:
    assert tr.plan_transition(tr.CROSSFADE, 30, 0.5, 300).frames == 15
    assert tr.plan_transition(tr.FLASH_CUT, 30, 0.5, 300).frames == 2
    assert tr.plan_transition(tr.CROSSFADE, 30, 0.5, 10).frames == 5  # at most half the shot
