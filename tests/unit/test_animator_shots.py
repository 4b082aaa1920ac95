"""Shot-aware rendering: storyboard entries as exact cuts, camera moves, old projects unchanged."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from lumiere.v1 import common_pb2, concept_pb2, seeder_pb2
from lumiere.v1 import storyboard_pb2 as sb

from services.animator import transitions as tr
from services.animator.motion import ShotMotion, shot_pose
from services.animator.music import Music
from services.animator.planes import planes_to_rgb
from services.animator.render import SegmentRenderer
from services.animator.segment import build_plan, find_shot, render_segment
from services.common.storage import LocalStore
from services.devstack.synth import SectionSpec, SongSpec, synth_song
from tests.support.animator_inputs import (
    concept_from_truth,
    plan_requests,
    store_keyframes,
    store_shot_keyframes,
    storyboard_on_downbeats,
)

W, H, FPS = 192, 108, 24
VIDEO = common_pb2.VideoSettings(width=W, height=H, fps=FPS, quality=common_pb2.QUALITY_DRAFT)


def _noop(done: int, total: int, message: str) -> None:
    pass


@pytest.fixture
def concept() -> concept_pb2.Concept:
    spec = SongSpec("t", bpm=120, sections=(SectionSpec("verse", 4, level=0.6),), seed=3)
    _, truth = synth_song(spec)
    return concept_from_truth(truth, moments=2)


def _board(
    concept: concept_pb2.Concept, entry: int, move: int = sb.CAMERA_MOVE_LOCKED
) -> sb.Storyboard:
    return storyboard_on_downbeats(concept, [(move, sb.FRAMING_MEDIUM, entry)], bars_per_shot=2)


def _decode(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])]


def _thumb(img: np.ndarray) -> np.ndarray:
    """A small, normalised thumbnail: the beat's brightness/colour pulses do not count."""
    t = cv2.resize(img, (24, 14), interpolation=cv2.INTER_AREA).astype(np.float32)
    t -= t.mean(axis=(0, 1))
    return t / (t.std() + 1e-6)


def _dist(a: np.ndarray, b: np.ndarray) -> float:
    """1 - correlation of the thumbnails (0 = the same picture, ~1 = unrelated)."""
    return float(1.0 - np.mean(_thumb(a) * _thumb(b)))


def _render_all(store: LocalStore, concept: concept_pb2.Concept, kfs) -> list[list[np.ndarray]]:  # type: ignore[no-untyped-def]
    reqs, _ = plan_requests("p", concept, kfs, VIDEO, FPS)
    out = []
    for req in reqs:
        seg = render_segment(req, store, _noop).segment
        with store.local_path(seg.video.key) as path:
            out.append(_decode(path))
    return out


def test_cut_entry_is_a_hard_cut_exactly_on_the_planned_frame(
    store: LocalStore, concept: concept_pb2.Concept, tmp_path: Path
) -> None:
    concept.storyboard.CopyFrom(_board(concept, sb.SHOT_ENTRY_CUT))
    kfs = store_shot_keyframes(store, "p", concept.storyboard, W, H, subject=False)
    pictures = [_decode_keyframe(store, kf) for kf in kfs]
    segments = _render_all(store, concept, kfs)
    cut = int(round(concept.storyboard.shots[1].start_time * FPS))
    assert len(segments[0]) == cut  # shot A's segment ends on the frame before the cut
    before, at = segments[0][-1], segments[1][0]
    a, b = pictures[0], pictures[1]
    assert _dist(before, a) < 0.5 * _dist(before, b)  # still shot A, no blend towards B
    assert _dist(at, b) < 0.5 * _dist(at, a)  # the cut frame is shot B
    # No ramp into the cut: the last frames of A change little next to the cut itself.
    assert _dist(segments[0][-2], before) < 0.3 * _dist(before, at)


def _decode_keyframe(store: LocalStore, kf: seeder_pb2.Keyframe) -> np.ndarray:
    from services.common.images import decode_image

    img = decode_image(store.get_bytes(kf.image.key), "kf")
    return np.ascontiguousarray(img[..., :3])


def test_cut_does_not_even_load_the_next_keyframe(
    store: LocalStore, concept: concept_pb2.Concept
) -> None:
    concept.storyboard.CopyFrom(_board(concept, sb.SHOT_ENTRY_CUT))
    kfs = store_shot_keyframes(store, "p", concept.storyboard, W, H)
    reqs, _ = plan_requests("p", concept, kfs, VIDEO, FPS)
    plan, _ = build_plan(reqs[0], store)
    assert plan.to_shot is None and plan.transition.kind == tr.CUT
    assert plan.transition.frames == 0 and plan.director


@pytest.mark.parametrize(
    ("entry", "kind"),
    [
        (sb.SHOT_ENTRY_CROSSFADE, tr.CROSSFADE),
        (sb.SHOT_ENTRY_WHIP, tr.WHIP),
        (sb.SHOT_ENTRY_FLASH_CUT, tr.FLASH_CUT),
        (sb.SHOT_ENTRY_ZOOM_THROUGH, tr.ZOOM_THROUGH),
    ],
)
def test_the_next_shots_entry_picks_a_transition_that_ends_on_the_cut(
    store: LocalStore, concept: concept_pb2.Concept, entry: int, kind: int
) -> None:
    concept.storyboard.CopyFrom(_board(concept, entry))
    kfs = store_shot_keyframes(store, "p", concept.storyboard, W, H)
    for kf in kfs:
        kf.key_moment_id = "km0"  # shots under one key moment are still different shots
    reqs, _ = plan_requests("p", concept, kfs, VIDEO, FPS)
    plan, _ = build_plan(reqs[0], store)
    assert plan.transition.kind == kind and plan.to_shot is not None
    assert plan.landing_frame == plan.end  # lands on the next segment's first frame
    assert 1 <= plan.transition.frames <= int(0.5 * FPS)  # short: shots are a few seconds


def test_crossfade_between_shots_meets_the_next_segment_on_the_cut_frame(
    store: LocalStore, concept: concept_pb2.Concept
) -> None:
    concept.storyboard.CopyFrom(_board(concept, sb.SHOT_ENTRY_CROSSFADE))
    kfs = store_shot_keyframes(store, "p", concept.storyboard, W, H, subject=False)
    pictures = [_decode_keyframe(store, kf) for kf in kfs]
    segments = _render_all(store, concept, kfs)
    last, first = segments[0][-1], segments[1][0]
    # Mostly B already on the last frame before the cut (the fade ends there), B on the cut.
    assert _dist(last, pictures[1]) < _dist(last, pictures[0])
    assert _dist(first, pictures[1]) < 0.5 * _dist(first, pictures[0])
    assert _dist(last, first) < _dist(segments[0][0], first)


# -- camera moves -------------------------------------------------------------------------------


def _music(level: float = 0.6, seconds: float = 12.0) -> Music:
    beats = [concept_pb2.Beat(time=0.5 * i, strength=0.8) for i in range(int(seconds * 2))]
    return Music.from_concept(
        concept_pb2.Concept(
            duration_seconds=seconds,
            beats=beats,
            intensity=concept_pb2.Curve(rate_hz=10, values=[level] * int(seconds * 10 + 1)),
        )
    )


def _shot(move: int, framing: int = sb.FRAMING_MEDIUM, start: float = 2.0) -> sb.Shot:
    return sb.Shot(
        id="s1", start_time=start, end_time=start + 4.0, move=move, framing=framing, seed=5
    )


def _poses(move: int, framing: int = sb.FRAMING_MEDIUM):  # type: ignore[no-untyped-def]
    music = _music()
    motion = ShotMotion.plan("seed", "k", 2.0, music, _shot(move, framing))
    return motion, [shot_pose(motion, 2.0 + k / 30, music, "p") for k in range(0, 120)]


@pytest.mark.parametrize(
    ("move", "check"),
    [
        (sb.CAMERA_MOVE_PUSH_IN, lambda a, b: b.zoom - a.zoom > 0.05),
        (sb.CAMERA_MOVE_PULL_OUT, lambda a, b: a.zoom - b.zoom > 0.05),
        (sb.CAMERA_MOVE_PAN, lambda a, b: abs(b.pan_x - a.pan_x) > 0.04),
        (sb.CAMERA_MOVE_TRUCK, lambda a, b: abs(b.pan_x - a.pan_x) > 0.03),
        (sb.CAMERA_MOVE_ORBIT, lambda a, b: abs(b.rotation_deg - a.rotation_deg) > 1.5),
        (sb.CAMERA_MOVE_CRANE, lambda a, b: abs(b.pan_y - a.pan_y) > 0.035),
    ],
)
def test_each_camera_move_travels_its_own_way(move: int, check) -> None:  # type: ignore[no-untyped-def]
    motion, poses = _poses(move)
    assert motion.move == move
    assert check(poses[0], poses[-1])
    zooms = np.array([p.zoom for p in poses])
    assert np.max(np.abs(np.diff(zooms))) < 0.01  # smooth
    assert zooms.min() >= 1.0  # never reveals the canvas edge by zooming out past it


def test_pan_turns_without_parallax_and_truck_slides_with_it() -> None:
    pan, _ = _poses(sb.CAMERA_MOVE_PAN)
    truck, _ = _poses(sb.CAMERA_MOVE_TRUCK)
    assert abs(pan.depth(1.45) - pan.depth(0.6)) < 0.5 < abs(truck.depth(1.45) - truck.depth(0.6))


def test_handheld_shakes_more_than_locked_off_which_punches_harder() -> None:
    hand, hp = _poses(sb.CAMERA_MOVE_HANDHELD)
    locked, lp = _poses(sb.CAMERA_MOVE_LOCKED)

    def jitter(ps) -> float:  # type: ignore[no-untyped-def]
        return float(np.sum(np.abs(np.diff([p.pan_x for p in ps], 2))))

    assert jitter(hp) > 4 * jitter(lp)
    assert max(abs(p.pan_x - lp[0].pan_x) for p in lp) < 0.004
    assert locked.punch > hand.punch


def test_close_ups_move_less_and_wide_shots_slower() -> None:
    medium, _ = _poses(sb.CAMERA_MOVE_PAN, sb.FRAMING_MEDIUM)
    close, _ = _poses(sb.CAMERA_MOVE_PAN, sb.FRAMING_CLOSE_UP)
    wide, _ = _poses(sb.CAMERA_MOVE_PAN, sb.FRAMING_WIDE)
    assert abs(close.pan_x) < 0.75 * abs(medium.pan_x)
    assert wide.travel_seconds > 1.3 * medium.travel_seconds


def test_louder_shots_move_further() -> None:
    shot = _shot(sb.CAMERA_MOVE_PUSH_IN)
    quiet = ShotMotion.for_shot(shot, _music(0.1))
    loud = ShotMotion.for_shot(shot, _music(0.95))
    assert loud.zoom_range > 1.3 * quiet.zoom_range


def _disc_frames(store: LocalStore, concept: concept_pb2.Concept, move: int) -> list[np.ndarray]:
    """Frames of one shot whose picture is a single white disc off centre on grey."""
    from services.common.images import encode_png

    img = np.full((H, W, 3), 90, np.uint8)
    cv2.circle(img, (W * 2 // 3, H // 3), 9, (255, 255, 255), -1)
    ref = store.put_bytes("projects/p/keyframes/disc.png", encode_png(img), "image/png")
    concept.storyboard.CopyFrom(_board(concept, sb.SHOT_ENTRY_CUT, move))
    del concept.beats[:]  # no beat punches: only the camera moves
    kf = seeder_pb2.Keyframe(time=0.0, image=ref, shot_id="shot-000")
    reqs, _ = plan_requests("p", concept, [kf], VIDEO, FPS)
    plan, _ = build_plan(reqs[0], store)
    plan.particles = False
    plan.end = plan.start + 3 * FPS
    plan.fade_out_frames = 0
    return [planes_to_rgb(f) for f in SegmentRenderer(plan).frames()]


def _disc(img: np.ndarray) -> tuple[float, float, float]:
    mask = img[..., 0] > 200
    ys, xs = np.nonzero(mask)
    return float(xs.mean()), float(ys.mean()), float(mask.sum())


def test_push_in_grows_the_picture_on_screen(
    store: LocalStore, concept: concept_pb2.Concept
) -> None:
    frames = _disc_frames(store, concept, sb.CAMERA_MOVE_PUSH_IN)
    (x0, y0, a0), (x1, y1, a1) = _disc(frames[0]), _disc(frames[-1])
    assert a1 > 1.1 * a0  # bigger
    centre = np.array([(W - 1) / 2, (H - 1) / 2])
    assert np.linalg.norm([x1, y1] - centre) > np.linalg.norm([x0, y0] - centre) + 1.0


def test_pan_shifts_the_picture_sideways(store: LocalStore, concept: concept_pb2.Concept) -> None:
    frames = _disc_frames(store, concept, sb.CAMERA_MOVE_PAN)
    (x0, y0, a0), (x1, y1, a1) = _disc(frames[0]), _disc(frames[-1])
    assert abs(x1 - x0) > 4.0 and abs(x1 - x0) > 3 * abs(y1 - y0)
    assert a1 == pytest.approx(a0, rel=0.15)  # no zoom to speak of


# -- old projects -----------------------------------------------------------------------------


def test_keyframes_without_a_shot_render_exactly_as_before(
    store: LocalStore, concept: concept_pb2.Concept
) -> None:
    kfs = store_keyframes(store, "p", [m.time for m in concept.key_moments], W, H, layers=True)
    reqs, _ = plan_requests("p", concept, kfs, VIDEO, FPS)
    before, _ = build_plan(reqs[0], store)
    concept.storyboard.CopyFrom(_board(concept, sb.SHOT_ENTRY_WHIP))
    reqs[0].concept.CopyFrom(concept)
    reqs[0].from_keyframe.shot_id = "no-such-shot"
    after, _ = build_plan(reqs[0], store)
    assert find_shot(concept, "no-such-shot") is None and not after.director
    for k in (0, 5, before.end - 3, before.end - 1):
        a, b = SegmentRenderer(before).frame(k), SegmentRenderer(after).frame(k)
        assert np.array_equal(a.buf, b.buf)


def test_a_flash_cut_opens_a_quick_shot_without_washing_it_out() -> None:
    """The flash into a half-second shot is gone by its middle (its blacks back to black);
    a long shot keeps the full flash."""
    music = _music(0.6)
    quick = ShotMotion.for_shot(sb.Shot(id="q", start_time=2.0, end_time=2.5), music)
    long = ShotMotion.for_shot(sb.Shot(id="l", start_time=2.0, end_time=6.0), music)
    assert long.flash_decay_s == tr.FLASH_DECAY_S
    white_at_middle = 0.85 * np.exp(-0.25 / quick.flash_decay_s)
    assert white_at_middle * 219 < 5  # code values of lift left on the blacks
    assert quick.flash_decay_s >= 1.5 / 30  # still a flash over a couple of frames


def test_the_harmony_casts_the_shot_in_its_own_shadow_colour(
    store: LocalStore, concept: concept_pb2.Concept
) -> None:
    """The colour cast follows the keyframe palette's darkest colour: along its chroma
    direction for a coloured one, none for a grey one."""
    from services.animator.planes import chroma_direction

    concept.storyboard.CopyFrom(_board(concept, sb.SHOT_ENTRY_CUT, sb.CAMERA_MOVE_LOCKED))
    kfs = store_shot_keyframes(store, "p", concept.storyboard, W, H)
    casts = {}
    for deep in ("#101040", "#121212"):
        kf = seeder_pb2.Keyframe()
        kf.CopyFrom(kfs[0])
        kf.palette.extend([deep, "#202050", "#6060c0", "#c0c0ff", "#ff40c0"])
        reqs, _ = plan_requests("p", concept, [kf], VIDEO, FPS)
        plan, _ = build_plan(reqs[0], store)
        casts[deep] = plan.from_shot.motion.cast
    blue = casts["#101040"]
    assert blue is not None and blue[0] > 0.9  # Cb: blue
    assert casts["#121212"] == (0.0, 0.0)
    assert chroma_direction("not a colour") is None
