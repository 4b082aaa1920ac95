"""The subject moves with the music, instruments drive their own accents, beat sync is kept."""

from __future__ import annotations

import numpy as np
import pytest
from lumiere.v1 import common_pb2, concept_pb2
from lumiere.v1 import storyboard_pb2 as sb

from services.animator.instruments import InstrumentTrack
from services.animator.motion import beat_frames
from services.animator.music import Music
from services.animator.planes import planes_to_rgb
from services.animator.render import SegmentPlan, SegmentRenderer
from services.animator.segment import build_plan
from services.animator.subject import pose_at, pose_switch_frames
from services.animator.sync_metric import analyze
from services.common.storage import LocalStore
from services.devstack.synth import SectionSpec, SongSpec, synth_song
from tests.support.animator_inputs import (
    add_instrument_drivers,
    concept_from_truth,
    plan_requests,
    store_shot_keyframes,
    storyboard_on_downbeats,
)

W, H, FPS = 192, 108, 24
VIDEO = common_pb2.VideoSettings(width=W, height=H, fps=FPS, quality=common_pb2.QUALITY_DRAFT)
LOCKED_MEDIUM = (sb.CAMERA_MOVE_LOCKED, sb.FRAMING_MEDIUM, sb.SHOT_ENTRY_CUT)


def _song(level: float = 0.9, bars: int = 4) -> concept_pb2.Concept:
    spec = SongSpec("t", bpm=120, sections=(SectionSpec("chorus", bars, level=level),), seed=3)
    _, truth = synth_song(spec)
    concept = concept_from_truth(truth, moments=2)
    add_instrument_drivers(concept, truth)
    return concept


def _plan(
    store: LocalStore, concept: concept_pb2.Concept, poses: int, shots: int = 0
) -> SegmentPlan:
    concept.storyboard.CopyFrom(storyboard_on_downbeats(concept, [LOCKED_MEDIUM], bars_per_shot=8))
    kfs = store_shot_keyframes(store, "p", concept.storyboard, W, H, poses=poses, plain=True)
    reqs, _ = plan_requests("p", concept, kfs, VIDEO, FPS)
    plan, _ = build_plan(reqs[shots], store)
    plan.particles = False
    plan.fade_out_frames = 0
    return plan


def _figure(img: np.ndarray) -> np.ndarray:
    """The yellow subject's pixels (the fixture figure is (250, 235, 90) on grey 90)."""
    return (img[..., 0] > 170) & (img[..., 1] > 160)


def test_subject_is_its_own_plane_with_its_poses(store: LocalStore) -> None:
    plan = _plan(store, _song(), poses=3)
    assert len(plan.from_shot.subject) == 3 and plan.from_shot.near is not None
    assert plan.from_shot.subject_h > 0.4 * H * 1.15


def test_subject_hops_to_the_beat(store: LocalStore) -> None:
    plan = _plan(store, _song(), poses=1)
    r = SegmentRenderer(plan)
    bf = [int(b) for b in beat_frames(plan.music.beat_times, FPS) if b < plan.end - FPS]
    period = bf[1] - bf[0]

    def height(frame: int) -> float:  # the figure's centroid row
        return float(np.nonzero(_figure(planes_to_rgb(r.frame(frame))))[0].mean())

    for b in bf[1:6]:
        # Highest half way between beats, coming down just before the next one (the beat
        # punch has decayed at both frames, so only the hop moves it).
        assert height(b + period // 2) < height(b + period - 1) - 1.0


def test_pose_switches_land_on_beats_and_follow_the_loudness() -> None:
    def music(level: float) -> Music:
        c = _song(level)
        values = [level] * len(c.intensity.values)
        c.intensity.CopyFrom(concept_pb2.Curve(rate_hz=c.intensity.rate_hz, values=values))
        return Music.from_concept(c)

    loud, calm, mid = music(0.9), music(0.2), music(0.5)
    beats = set(beat_frames(loud.beat_times, FPS).tolist())
    sw_loud = pose_switch_frames(loud, 0.0, 8.0, FPS)
    assert set(sw_loud.tolist()) <= beats and len(sw_loud) >= 14  # every beat (16 in 8 s)
    sw_mid = pose_switch_frames(mid, 0.0, 8.0, FPS)
    sw_calm = pose_switch_frames(calm, 0.0, 8.0, FPS)
    assert len(sw_loud) > 2 * len(sw_mid) > 0 and len(sw_mid) > len(sw_calm) > 0
    poses = [pose_at(sw_loud, k, 3) for k in range(0, 8 * FPS)]
    changes = [k for k in range(1, len(poses)) if poses[k] != poses[k - 1]]
    assert set(changes) <= beats and poses[0] == 0


def test_pose_layers_show_on_their_beats(store: LocalStore) -> None:
    plan = _plan(store, _song(), poses=3)
    r = SegmentRenderer(plan)
    switch = pose_switch_frames(plan.music, 0.0, plan.end / FPS, FPS)
    k = int(switch[2])

    # The arm bar (widest row of the figure) jumps between the frame before and the switch.
    def arm_row(frame: int) -> int:
        fig = _figure(planes_to_rgb(r.frame(frame)))
        return int(np.argmax(fig.sum(axis=1)))

    assert abs(arm_row(k) - arm_row(k - 1)) > 3
    assert abs(arm_row(k - 1) - arm_row(k - 2)) <= 2


def test_instruments_drive_their_own_accents() -> None:
    concept = _song()
    music = Music.from_concept(concept)
    track = InstrumentTrack(music, FPS, "s")
    snares = music.snare_beats()
    # The snare sits on beats 2 and 4, never on a downbeat.
    assert snares.sum() >= 6 and not np.any(snares & music.beat_downbeat)
    bf = beat_frames(music.beat_times, FPS)
    for i in np.nonzero(snares)[0][:4]:
        assert track.snare(int(bf[i])) == pytest.approx(1.0)
        assert track.snare(int(bf[i]) - 1) == 0.0
    kick = int(bf[0]) if bf[0] > 0 else int(bf[4])
    assert np.hypot(*track.shake(kick, 1.0)) > 0.002  # the kick shakes the camera
    quiet = InstrumentTrack(
        Music.from_concept(concept_pb2.Concept(duration_seconds=8)), FPS, "s"
    )  # no bands: no shake
    assert quiet.shake(kick, 1.0) == (0.0, 0.0)
    # Colour drift is slow: a tiny change per frame.
    drifts = [track.drift(k / FPS) for k in range(0, 4 * FPS)]
    assert max(abs(a.du - b.du) for a, b in zip(drifts, drifts[1:], strict=False)) < 0.3


def test_colour_drift_restarts_with_each_section_of_a_group() -> None:
    """The second chorus drifts through the colours the first did, whatever the song's clock."""
    concept = _song(bars=16)
    for start, end, group in ((0.0, 8.0, 0), (8.0, 16.0, 1), (16.0, 24.0, 0), (24.0, 32.0, 1)):
        concept.sections.add(start=start, end=end, repeat_group=group)
    track = InstrumentTrack(Music.from_concept(concept), FPS, "s")
    for offset in (0.5, 3.0):
        first, again = track.drift(offset), track.drift(16.0 + offset)
        other = track.drift(8.0 + offset)
        assert (first.du, first.dv) == pytest.approx((again.du, again.dv), abs=1.5)
        assert np.hypot(first.du - other.du, first.dv - other.dv) > 3.0


def test_colour_cast_follows_the_given_direction_in_every_section() -> None:
    """With the look's colour (a unit Cb, Cr direction) the cast runs along it in every section
    of every group, only its strength follows the music; a grey look gets none."""
    concept = _song(bars=16)
    for start, end, group in ((0.0, 8.0, 0), (8.0, 16.0, 1), (16.0, 24.0, 0)):
        concept.sections.add(start=start, end=end, repeat_group=group)
    track = InstrumentTrack(Music.from_concept(concept), FPS, "s")
    direction = (0.6, -0.8)
    for t in (0.5, 5.0, 9.0, 17.0, 23.0):
        cast = track.drift(t, direction)
        assert np.hypot(cast.du, cast.dv) > 1.0
        assert cast.du * direction[1] - cast.dv * direction[0] == pytest.approx(0.0, abs=1e-9)
        assert cast.du * direction[0] + cast.dv * direction[1] > 0
        grey = track.drift(t, (0.0, 0.0))
        assert (grey.du, grey.dv) == (0.0, 0.0) and grey.glow == cast.glow


@pytest.mark.parametrize("level", [0.5, 0.95])
def test_beat_sync_stays_above_point_nine_with_the_director(
    store: LocalStore, level: float
) -> None:
    concept = _song(level, bars=6)
    designs = [
        (sb.CAMERA_MOVE_PUSH_IN, sb.FRAMING_WIDE, sb.SHOT_ENTRY_CUT),
        (sb.CAMERA_MOVE_HANDHELD, sb.FRAMING_SUBJECT, sb.SHOT_ENTRY_WHIP),
        (sb.CAMERA_MOVE_PAN, sb.FRAMING_MEDIUM, sb.SHOT_ENTRY_CROSSFADE),
        (sb.CAMERA_MOVE_LOCKED, sb.FRAMING_CLOSE_UP, sb.SHOT_ENTRY_FLASH_CUT),
    ]
    concept.storyboard.CopyFrom(storyboard_on_downbeats(concept, designs, bars_per_shot=1))
    kfs = store_shot_keyframes(store, "p", concept.storyboard, W, H)
    reqs, _ = plan_requests("p", concept, kfs, VIDEO, FPS)
    frames = []
    for req in reqs:
        plan, _ = build_plan(req, store)
        frames += [planes_to_rgb(f) for f in SegmentRenderer(plan).frames()]
    report = analyze(frames, [b.time for b in concept.beats], fps=FPS)
    assert report.f_measure >= 0.9, report.summary()
    assert report.black_frames <= FPS and not report.frozen_runs


def test_the_subject_is_over_the_mid_layer_and_under_the_foreground() -> None:
    """The seeder's order (scene.flatten): background, mid, character, foreground."""
    from services.animator import transitions as tr
    from services.animator.motion import ShotMotion
    from services.animator.render import prepare_shot

    w, h = 160, 90
    bg = np.dstack([np.full((h, w, 3), 90, np.uint8), np.full((h, w), 255, np.uint8)])
    mid = np.zeros((h, w, 4), np.uint8)
    mid[:, 66:74] = (20, 20, 20, 255)  # a building edge behind the subject
    fg = np.zeros((h, w, 4), np.uint8)
    fg[:, 86:94] = (20, 20, 200, 255)  # a blue rain streak in front of it
    fig = np.zeros((h, w, 4), np.uint8)
    fig[30:80, 60:100] = (250, 235, 90, 255)
    music = Music.from_concept(concept_pb2.Concept(duration_seconds=4))
    motion = ShotMotion.for_shot(sb.Shot(id="a", start_time=0, end_time=4), music)
    names = ["background", "mid", "foreground", "character"]
    shot = prepare_shot(None, [bg, mid, fg, fig], w, h, motion, 0, names)
    plan = SegmentPlan(
        width=w,
        height=h,
        fps=FPS,
        start=0,
        end=4,
        seed="t",
        music=music,
        from_shot=shot,
        to_shot=None,
        landing_frame=4,
        transition=tr.TransitionPlan(tr.CUT, 0),
        particles=False,
    )
    rgb = planes_to_rgb(SegmentRenderer(plan).frame(2))
    assert _figure(rgb)[55, 70]  # the subject covers the mid layer
    assert rgb[55, 90, 2] > 150 and rgb[55, 90, 0] < 100  # the foreground covers the subject
