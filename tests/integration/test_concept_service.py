"""ConceptService over real gRPC on loopback: health, a full analysis, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from lumiere.v1 import common_pb2, concept_pb2, concept_pb2_grpc

from services.common.settings import Settings
from services.common.storage import LocalStore
from services.concept.server import add_to_server
from services.devstack.synth import demo_spec, synth_song, write_audio
from tests.conftest import running_service

pytestmark = pytest.mark.integration


async def _call(addr: str, request: concept_pb2.AnalyzeAudioRequest) -> list:
    async with grpc.aio.insecure_channel(addr) as ch:
        stub = concept_pb2_grpc.ConceptServiceStub(ch)
        return [ev async for ev in stub.AnalyzeAudio(request, timeout=60)]


async def test_health_and_full_analysis(
    settings: Settings, store: LocalStore, tmp_path: Path
) -> None:
    samples, truth = synth_song(demo_spec())
    audio = store.put_file(
        "uploads/p1/audio.mp3", write_audio(tmp_path / "song.mp3", samples), "audio/mpeg"
    )
    lyrics = store.put_bytes(
        "uploads/p1/lyrics.lrc", b"[00:08.00]first\n[00:24.00]second\n", "text/plain"
    )
    async with running_service(add_to_server, settings, store) as addr:
        async with grpc.aio.insecure_channel(addr) as ch:
            health = health_pb2_grpc.HealthStub(ch)
            resp = await health.Check(
                health_pb2.HealthCheckRequest(service="lumiere.v1.ConceptService")
            )
            assert resp.status == health_pb2.HealthCheckResponse.SERVING
        events = await _call(
            addr,
            concept_pb2.AnalyzeAudioRequest(
                project_id="p1", audio=audio, prompt="a paper boat at sea", lyrics=lyrics
            ),
        )
    progress = [e.progress for e in events if e.HasField("progress")]
    # Progress is throttled (0.1 s) and the analysis is fast: first and last step at least.
    assert len(progress) >= 2
    assert progress[0].message == "decoding audio"
    assert progress[-1].fraction == 1.0
    assert all(p.stage == "concept" for p in progress)
    assert [p.fraction for p in progress] == sorted(p.fraction for p in progress)
    assert events[-1].HasField("result")
    result = events[-1].result
    c = result.concept
    assert c.tempo_bpm == pytest.approx(120.0, rel=0.01)
    assert c.duration_seconds == pytest.approx(truth.duration, abs=0.1)
    beats = np.array([b.time for b in c.beats])
    hits = sum(np.min(np.abs(beats - t)) < 0.07 for t in truth.beats)
    assert hits >= 0.95 * truth.beats.size
    assert c.intensity.rate_hz >= 10
    assert len(c.intensity.values) >= 10 * truth.duration * 0.95
    assert len(c.intensity_per_second) == int(np.ceil(c.duration_seconds))
    times = [m.time for m in c.key_moments]
    assert len(times) == 7
    assert times[0] == 0.0
    assert all(b - a >= 1.9 for a, b in zip(times, times[1:], strict=False))
    assert times[-1] < c.duration_seconds
    assert c.key_moments[0].role == concept_pb2.MOMENT_ROLE_INTRO
    assert all("a paper boat at sea" in m.prompt for m in c.key_moments)
    assert [ln.text for ln in c.lyrics] == ["first", "second"]
    # concept.json is stored and is the same concept.
    assert result.concept_json.key == "outputs/p1/concept.json"
    stored = json.loads(store.get_bytes("outputs/p1/concept.json"))
    assert stored["tempoBpm"] == pytest.approx(c.tempo_bpm)
    assert len(stored["keyMoments"]) == 7


async def test_bad_inputs_are_invalid_argument(
    settings: Settings, store: LocalStore, tmp_path: Path
) -> None:
    junk = store.put_bytes("uploads/p2/audio.mp3", b"not audio at all " * 100, "audio/mpeg")
    async with running_service(add_to_server, settings, store) as addr:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await _call(addr, concept_pb2.AnalyzeAudioRequest(project_id="p2", audio=junk))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "could not be decoded" in (err.value.details() or "")
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await _call(addr, concept_pb2.AnalyzeAudioRequest(audio=junk))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "project_id" in (err.value.details() or "")
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await _call(
                addr,
                concept_pb2.AnalyzeAudioRequest(
                    project_id="p2", audio=common_pb2.ArtifactRef(key="uploads/p2/missing.wav")
                ),
            )
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
        silent = store.put_file(
            "uploads/p2/silent.wav",
            write_audio(tmp_path / "silent.wav", np.zeros(22050 * 2, dtype=np.float32)),
            "audio/wav",
        )
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await _call(addr, concept_pb2.AnalyzeAudioRequest(project_id="p2", audio=silent))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "audio is silent" in (err.value.details() or "")
        tone = (0.3 * np.sin(np.arange(22050 * 3) * 2 * np.pi * 440 / 22050)).astype(np.float32)
        audio = store.put_file(
            "uploads/p2/audio.wav", write_audio(tmp_path / "tone.wav", tone), "audio/wav"
        )
        binary = store.put_bytes("uploads/p2/lyrics.txt", b"\x00\x01\x02binary", "text/plain")
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await _call(
                addr,
                concept_pb2.AnalyzeAudioRequest(project_id="p2", audio=audio, lyrics=binary),
            )
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "lyrics file is not text" in (err.value.details() or "")
    limited = settings.model_copy(update={"max_audio_seconds": 2.0})
    async with running_service(add_to_server, limited, store) as addr:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await _call(addr, concept_pb2.AnalyzeAudioRequest(project_id="p2", audio=audio))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "longer than the 2-second limit" in (err.value.details() or "")
