"""Rendering segments and composing them: frame counts, format, idempotency, joins, A/V sync."""

from __future__ import annotations

import hashlib
from pathlib import Path

import av
import numpy as np
import pytest
from lumiere.v1 import animator_pb2, common_pb2, seeder_pb2

from services.animator.compose import compose_video
from services.animator.render import SegmentRenderer
from services.animator.segment import build_plan, render_segment
from services.animator.sync_metric import frame_changes, join_ratios
from services.common.errors import InvalidInput, NotFound
from services.common.storage import LocalStore
from services.devstack.synth import SectionSpec, SongSpec, synth_song, write_audio
from tests.support.animator_inputs import (
    compose_request,
    concept_from_truth,
    plan_requests,
    store_keyframes,
)

FPS = 12
VIDEO = common_pb2.VideoSettings(width=192, height=108, fps=FPS, quality=common_pb2.QUALITY_PREVIEW)


def _noop(done: int, total: int, message: str) -> None:
    pass


@pytest.fixture
def song(store: LocalStore, tmp_path: Path):  # type: ignore[no-untyped-def]
    spec = SongSpec("t", bpm=120, sections=(SectionSpec("verse", 3, level=0.6),), seed=3)
    samples, truth = synth_song(spec)
    path = write_audio(tmp_path / "song.wav", samples)
    audio = store.put_file("uploads/p/audio.wav", path, "audio/wav")
    concept = concept_from_truth(truth, moments=3)
    keyframes = store_keyframes(store, "p", [m.time for m in concept.key_moments], 192, 108)
    return audio, concept, keyframes


def _packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux(c.streams.video[0]) if p.size]


def test_segment_has_exact_frames_and_the_fixed_profile(store: LocalStore, song) -> None:  # type: ignore[no-untyped-def]
    _, concept, keyframes = song
    reqs, _ = plan_requests("p", concept, keyframes, VIDEO, FPS)
    req = reqs[0]
    events: list[str] = []
    result = render_segment(req, store, lambda d, t, m: events.append(m))
    seg = result.segment
    assert (seg.start_frame, seg.end_frame) == (req.start_frame, req.end_frame)
    assert seg.video.key.startswith("outputs/p/animations/anim_000_")
    assert any("fps" in m and "ETA" in m for m in events)
    with store.local_path(seg.video.key) as path, av.open(str(path)) as c:
        assert len(c.streams) == 1  # video only
        v = c.streams.video[0]
        cc = v.codec_context
        assert (cc.name, cc.width, cc.height) == ("h264", 192, 108)
        assert cc.color_primaries == 1 and cc.colorspace == 1 and cc.color_trc == 1
        first = next(p for p in c.demux(v) if p.size)
        assert first.is_keyframe
        c.seek(0)
        frames = list(c.decode(v))
        assert frames[0].format.name == "yuv420p"
        assert len(frames) == req.end_frame - req.start_frame


def test_segment_is_idempotent(store: LocalStore, song) -> None:  # type: ignore[no-untyped-def]
    _, concept, keyframes = song
    req = plan_requests("p", concept, keyframes, VIDEO, FPS)[0][1]
    first = render_segment(req, store, _noop)
    path = store.path(first.segment.video.key)
    mtime = path.stat().st_mtime_ns
    again = render_segment(req, store, _noop)
    assert again.segment.video.key == first.segment.video.key
    assert again.segment.video.sha256 == first.segment.video.sha256
    assert again.render_fps == 0.0 and path.stat().st_mtime_ns == mtime
    other = animator_pb2.RenderSegmentRequest()
    other.CopyFrom(req)
    other.seed += 1
    assert render_segment(other, store, _noop).segment.video.key != first.segment.video.key


@pytest.mark.parametrize(("start", "end"), [(-5, 10), (10, 10), (20, 5), (0, 10**8)])
def test_segment_rejects_bad_ranges(store: LocalStore, song, start: int, end: int) -> None:  # type: ignore[no-untyped-def]
    _, concept, keyframes = song
    req = plan_requests("p", concept, keyframes, VIDEO, FPS)[0][0]
    req.start_frame, req.end_frame = start, end
    with pytest.raises(InvalidInput):
        render_segment(req, store, _noop)


def test_segment_rejects_missing_images(store: LocalStore, song) -> None:  # type: ignore[no-untyped-def]
    _, concept, keyframes = song
    req = plan_requests("p", concept, keyframes, VIDEO, FPS)[0][0]
    req.from_keyframe.CopyFrom(seeder_pb2.Keyframe(time=0))
    with pytest.raises(InvalidInput, match="has no image"):
        render_segment(req, store, _noop)
    req.from_keyframe.image.key = "outputs/p/seeds/missing.png"
    with pytest.raises(NotFound):
        render_segment(req, store, _noop)
    store.put_bytes("outputs/p/seeds/bad.png", b"not an image", "image/png")
    req.from_keyframe.image.key = "outputs/p/seeds/bad.png"
    with pytest.raises(InvalidInput, match="could not be decoded"):
        render_segment(req, store, _noop)


def test_independent_segments_meet_seamlessly(store: LocalStore, song) -> None:  # type: ignore[no-untyped-def]
    _, concept, keyframes = song
    reqs, total = plan_requests("p", concept, keyframes, VIDEO, FPS)
    frames = []
    for req in reqs:  # each rendered on its own, with its own seed, as on separate replicas
        plan, _ = build_plan(req, store)
        frames.extend(f.y for f in SegmentRenderer(plan).frames())
    assert len(frames) == total
    changes, _ = frame_changes(frames)
    joins = [r.start_frame for r in reqs[1:]]
    beats = [round(b.time * FPS) for b in concept.beats]
    ratios = join_ratios(changes, joins, beats, FPS)
    assert ratios and max(ratios.values()) < 1.6, ratios


def test_compose_joins_without_reencoding_and_syncs_audio(store: LocalStore, song) -> None:  # type: ignore[no-untyped-def]
    audio, concept, keyframes = song
    reqs, total = plan_requests("p", concept, keyframes, VIDEO, FPS)
    segments = [render_segment(r, store, _noop).segment for r in reqs]
    result = compose_video(
        compose_request("p", segments, audio, VIDEO, total),
        store,
        _noop,
    )
    assert result.video.key == "outputs/p/final_video.mp4"
    assert result.frame_count == total
    assert abs(result.audio_duration_seconds - result.video_duration_seconds) <= 1 / FPS
    assert result.video_duration_seconds == pytest.approx(total / FPS)
    # Join without re-encode: the final video's packets are the segments' packets, byte for byte.
    seg_packets = []
    for s in segments:
        seg_packets.extend(_packets(store.path(s.video.key)))
    final_packets = _packets(store.path(result.video.key))
    digest = lambda ps: hashlib.sha256(b"".join(ps)).hexdigest()  # noqa: E731
    assert len(final_packets) == total
    assert digest(final_packets) == digest(seg_packets)
    with av.open(str(store.path(result.video.key))) as c:
        assert [s.type for s in c.streams] == ["video", "audio"]
        assert c.streams.audio[0].codec_context.name == "aac"
    # faststart: the moov atom comes before the media data
    head = store.path(result.video.key).read_bytes()[:4096]
    assert head.find(b"moov") != -1 and (
        head.find(b"mdat") == -1 or head.find(b"moov") < head.find(b"mdat")
    )


def test_compose_rejects_gaps_and_foreign_profiles(store: LocalStore, song) -> None:  # type: ignore[no-untyped-def]
    audio, concept, keyframes = song
    reqs, total = plan_requests("p", concept, keyframes, VIDEO, FPS)
    segments = [render_segment(r, store, _noop).segment for r in reqs]
    gap = animator_pb2.ComposeVideoRequest(
        project_id="p", segments=[segments[0], segments[2]], audio=audio, total_frames=total
    )
    with pytest.raises(InvalidInput, match="gap in the timeline"):
        compose_video(gap, store, _noop)
    other = animator_pb2.RenderSegmentRequest()
    other.CopyFrom(reqs[1])
    other.video.width = 160
    foreign = render_segment(other, store, _noop).segment
    mixed = animator_pb2.ComposeVideoRequest(
        project_id="p",
        segments=[segments[0], foreign, segments[2]],
        audio=audio,
        total_frames=total,
    )
    with pytest.raises(InvalidInput, match="different profile"):
        compose_video(mixed, store, _noop)


def test_compose_pads_short_audio(store: LocalStore, song, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, concept, keyframes = song
    reqs, total = plan_requests("p", concept, keyframes, VIDEO, FPS)
    segments = [render_segment(r, store, _noop).segment for r in reqs]
    short = write_audio(tmp_path / "short.mp3", np.zeros(22050, np.float32))  # 1 s of silence
    ref = store.put_file("uploads/p/short.mp3", short, "audio/mpeg")
    result = compose_video(
        animator_pb2.ComposeVideoRequest(
            project_id="p",
            segments=segments,
            audio=ref,
            total_frames=total,
            output_key="outputs/p/x.mp4",
        ),
        store,
        _noop,
    )
    assert result.video.key == "outputs/p/x.mp4"
    assert abs(result.audio_duration_seconds - total / FPS) <= 1 / FPS


def test_last_segment_naming_its_own_keyframe_holds_and_fades_out(store: LocalStore, song) -> None:  # type: ignore[no-untyped-def]
    _, concept, keyframes = song
    reqs, total = plan_requests("p", concept, keyframes, VIDEO, FPS)
    last = reqs[-1]
    last.to_keyframe.CopyFrom(last.from_keyframe)  # the orchestrator's convention for "hold"
    plan, _ = build_plan(last, store)
    assert plan.to_shot is None and plan.end == total and plan.fade_out_frames > 0
    renderer = SegmentRenderer(plan)
    assert renderer.frame(total - 1).y.mean() < 0.5 * renderer.frame(plan.start).y.mean()


def test_captions_appear_on_the_lyric_line_frames(store: LocalStore, song) -> None:  # type: ignore[no-untyped-def]
    _, concept, keyframes = song
    concept.lyrics.add(start=1.0, end=2.0, text="la la land")
    req = plan_requests("p", concept, keyframes, VIDEO, FPS)[0][0]
    plan, _ = build_plan(req, store)
    plan.particles = False
    r = SegmentRenderer(plan)
    bottom = slice(int(VIDEO.height * 0.6), VIDEO.height)

    def caption_pixels(k: int) -> int:
        with_caption = r.frame(k).y[bottom]
        captions, plan.captions = plan.captions, None
        without = r.frame(k).y[bottom]
        plan.captions = captions
        return int((np.abs(with_caption.astype(int) - without) > 40).sum())

    start, end = round(1.0 * FPS), round(2.0 * FPS)
    assert caption_pixels(start - 1) == 0
    assert caption_pixels(start) > 100
    assert caption_pixels(end - 1) > 100
    assert caption_pixels(end) == 0
