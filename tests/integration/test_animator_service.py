"""AnimatorService over real gRPC on loopback: segments in parallel, composition, the result."""

from __future__ import annotations

import asyncio
from pathlib import Path

import av
import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from lumiere.v1 import animator_pb2, animator_pb2_grpc, common_pb2
from lumiere.v1 import storyboard_pb2 as sb

from services.animator.server import add_to_server
from services.animator.sync_metric import analyze
from services.common.settings import Settings
from services.common.storage import LocalStore
from services.devstack.synth import SectionSpec, SongSpec, synth_song, write_audio
from tests.support.animator_inputs import (
    add_instrument_drivers,
    compose_request,
    concept_from_truth,
    plan_requests,
    store_keyframes,
    store_shot_keyframes,
    storyboard_on_downbeats,
)
from tests.support.servers import running_service

pytestmark = pytest.mark.integration

FPS = 24
VIDEO = common_pb2.VideoSettings(width=320, height=180, fps=FPS, quality=common_pb2.QUALITY_DRAFT)


async def _render(stub: animator_pb2_grpc.AnimatorServiceStub, req) -> list:  # type: ignore[no-untyped-def]
    return [ev async for ev in stub.RenderSegment(req, timeout=120)]


async def test_render_segments_in_parallel_and_compose(
    settings: Settings, store: LocalStore, tmp_path: Path
) -> None:
    spec = SongSpec(
        "it",
        bpm=120,
        sections=(SectionSpec("verse", 2, level=0.4), SectionSpec("chorus", 3, level=1.0)),
        seed=5,
    )
    samples, truth = synth_song(spec)
    audio = store.put_file(
        "uploads/p1/audio.mp3", write_audio(tmp_path / "song.mp3", samples), "audio/mpeg"
    )
    concept = concept_from_truth(truth, moments=3)
    keyframes = store_keyframes(store, "p1", [m.time for m in concept.key_moments], 320, 180)
    reqs, total = plan_requests("p1", concept, keyframes, VIDEO, FPS)
    assert len(reqs) == 3

    async with (
        running_service(add_to_server, settings, store) as addr,
        grpc.aio.insecure_channel(addr) as ch,
    ):
        health = await health_pb2_grpc.HealthStub(ch).Check(
            health_pb2.HealthCheckRequest(service="lumiere.v1.AnimatorService")
        )
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        stub = animator_pb2_grpc.AnimatorServiceStub(ch)
        results = await asyncio.gather(*(_render(stub, r) for r in reqs))
        segments = []
        for req, events in zip(reqs, results, strict=True):
            assert events[-1].HasField("result")
            progress = [e.progress for e in events if e.HasField("progress")]
            assert progress and progress[-1].done == progress[-1].total
            assert progress[-1].total == req.end_frame - req.start_frame
            assert all(p.stage == "animator" for p in progress)
            segments.append(events[-1].result.segment)
        compose = [
            ev
            async for ev in stub.ComposeVideo(
                compose_request("p1", segments, audio, VIDEO, total), timeout=120
            )
        ]
    result = compose[-1].result
    assert result.video.key == "outputs/p1/final_video.mp4"
    assert result.frame_count == total == round(truth.duration * FPS)
    path = store.path(result.video.key)
    with av.open(str(path)) as c:
        assert [s.type for s in c.streams] == ["video", "audio"]
        v, a = c.streams.video[0], c.streams.audio[0]
        assert v.codec_context.name == "h264" and a.codec_context.name == "aac"
        frames = sum(1 for _ in c.decode(v))
        c.seek(0)
        pix = next(iter(c.decode(v))).format.name
        c.seek(0)
        audio_s = sum(f.samples for f in c.decode(a)) / a.rate
    assert pix == "yuv420p"
    assert frames == total
    assert abs(audio_s - frames / FPS) <= 1 / FPS
    report = analyze(
        path, [b.time for b in concept.beats], joins=[s.start_frame for s in segments[1:]]
    )
    assert report.f_measure >= 0.9, report.summary()
    assert report.frozen_runs == []


async def test_bad_requests_are_invalid_argument(settings: Settings, store: LocalStore) -> None:
    async with (
        running_service(add_to_server, settings, store) as addr,
        grpc.aio.insecure_channel(addr) as ch,
    ):
        stub = animator_pb2_grpc.AnimatorServiceStub(ch)
        bad = animator_pb2.RenderSegmentRequest(project_id="p1", start_frame=10, end_frame=5)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await _render(stub, bad)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "end_frame" in (err.value.details() or "")
        gap = animator_pb2.ComposeVideoRequest(
            project_id="p1",
            total_frames=100,
            segments=[animator_pb2.Segment(index=0, start_frame=0, end_frame=40)],
        )
        with pytest.raises(grpc.aio.AioRpcError) as err:
            _ = [ev async for ev in stub.ComposeVideo(gap, timeout=30)]
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "before total_frames" in (err.value.details() or "")


async def test_storyboard_shots_render_apart_and_join_on_their_cut_frames(
    settings: Settings, store: LocalStore, tmp_path: Path
) -> None:
    spec = SongSpec(
        "shots",
        bpm=120,
        sections=(SectionSpec("verse", 3, level=0.5), SectionSpec("chorus", 3, level=1.0)),
        seed=7,
    )
    samples, truth = synth_song(spec)
    audio = store.put_file("uploads/p2/audio.wav", write_audio(tmp_path / "s.wav", samples), "x")
    concept = concept_from_truth(truth, moments=2)
    add_instrument_drivers(concept, truth)
    designs = [
        (sb.CAMERA_MOVE_PUSH_IN, sb.FRAMING_WIDE, sb.SHOT_ENTRY_CUT),
        (sb.CAMERA_MOVE_PAN, sb.FRAMING_SUBJECT, sb.SHOT_ENTRY_CUT),
        (sb.CAMERA_MOVE_HANDHELD, sb.FRAMING_MEDIUM, sb.SHOT_ENTRY_WHIP),
    ]
    concept.storyboard.CopyFrom(storyboard_on_downbeats(concept, designs, bars_per_shot=1))
    keyframes = store_shot_keyframes(store, "p2", concept.storyboard, 320, 180)
    reqs, total = plan_requests("p2", concept, keyframes, VIDEO, FPS)
    assert len(reqs) == len(concept.storyboard.shots) == 6
    async with (
        running_service(add_to_server, settings, store) as addr,
        grpc.aio.insecure_channel(addr) as ch,
    ):
        stub = animator_pb2_grpc.AnimatorServiceStub(ch)
        results = await asyncio.gather(*(_render(stub, r) for r in reqs))
        segments = [events[-1].result.segment for events in results]
        compose = [
            ev
            async for ev in stub.ComposeVideo(
                compose_request("p2", segments, audio, VIDEO, total), timeout=120
            )
        ]
    path = store.path(compose[-1].result.video.key)
    with av.open(str(path)) as c:
        frames = [f.to_ndarray(format="gray") for f in c.decode(c.streams.video[0])]
    assert len(frames) == total
    change = np.array(
        [0.0]
        + [float(np.mean(np.abs(b * 1.0 - a))) for a, b in zip(frames, frames[1:], strict=False)]
    )
    # Each hard cut is the largest change around it, exactly on its planned frame.
    for shot in concept.storyboard.shots[1:]:
        if shot.entry != sb.SHOT_ENTRY_CUT:
            continue
        cut = round(shot.start_time * FPS)
        assert cut == int(np.argmax(change[cut - 5 : cut + 6])) + cut - 5
    report = analyze(path, [b.time for b in concept.beats])
    assert report.f_measure >= 0.9, report.summary()
    assert report.frozen_runs == []
