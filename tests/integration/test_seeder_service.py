"""SeederService over real gRPC on loopback: streaming progress, result, health, errors."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from lumiere.v1 import concept_pb2, seeder_pb2, seeder_pb2_grpc

from services.common.images import decode_image
from services.common.settings import Settings
from services.common.storage import LocalStore
from services.seeder.server import add_to_server
from tests.conftest import running_service
from tests.support.storyboards import storyboard_concept

pytestmark = pytest.mark.integration


def concept() -> concept_pb2.Concept:
    c = concept_pb2.Concept(prompt="space nebula", mood=concept_pb2.Mood(energy=0.7))
    roles = [
        concept_pb2.MOMENT_ROLE_INTRO,
        concept_pb2.MOMENT_ROLE_CLIMAX,
        concept_pb2.MOMENT_ROLE_RESOLUTION,
    ]
    for i, (role, inten) in enumerate(zip(roles, [0.2, 0.9, 0.3], strict=True)):
        c.key_moments.add(
            id=f"m{i}", time=10.0 * i, role=role, intensity=inten, prompt="space nebula"
        )
    return c


async def test_generate_keyframes_streams_progress_then_result(
    settings: Settings, store: LocalStore
) -> None:
    async with (
        running_service(add_to_server, settings, store) as addr,
        grpc.aio.insecure_channel(addr) as channel,
    ):
        health = health_pb2_grpc.HealthStub(channel)
        resp = await health.Check(health_pb2.HealthCheckRequest(service="lumiere.v1.SeederService"))
        assert resp.status == health_pb2.HealthCheckResponse.SERVING

        stub = seeder_pb2_grpc.SeederServiceStub(channel)
        req = seeder_pb2.GenerateKeyframesRequest(
            project_id="proj", concept=concept(), width=480, height=270, seed=11
        )
        events = [ev async for ev in stub.GenerateKeyframes(req, timeout=60)]
    kinds = [ev.WhichOneof("event") for ev in events]
    assert kinds[-1] == "result" and kinds.count("result") == 1
    progress = [ev.progress for ev in events if ev.HasField("progress")]
    assert progress and all(p.stage == "seeder" for p in progress)
    assert progress[-1].done == progress[-1].total == 3
    result = events[-1].result
    assert [k.key_moment_id for k in result.keyframes] == ["m0", "m1", "m2"]
    for kf in result.keyframes:
        img = decode_image(store.get_bytes(kf.image.key))
        assert img.shape == (270, 480, 3)
        assert kf.backend == "procedural" and len(kf.layers) == 3
    assert store.exists(result.contact_sheet.key)


async def test_bad_character_image_is_invalid_argument(
    settings: Settings, store: LocalStore
) -> None:
    ref = store.put_bytes("uploads/proj/character_0.png", b"\x89PNG broken", "image/png")
    async with (
        running_service(add_to_server, settings, store) as addr,
        grpc.aio.insecure_channel(addr) as channel,
    ):
        stub = seeder_pb2_grpc.SeederServiceStub(channel)
        req = seeder_pb2.GenerateKeyframesRequest(
            project_id="proj", concept=concept(), character_images=[ref], width=320, height=180
        )
        with pytest.raises(grpc.aio.AioRpcError) as err:
            async for _ in stub.GenerateKeyframes(req, timeout=30):
                pass
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "character image 'uploads/proj/character_0.png'" in (err.value.details() or "")


async def test_storyboard_shots_stream_per_shot_progress(
    settings: Settings, store: LocalStore
) -> None:
    board = storyboard_concept(n_shots=5)
    async with (
        running_service(add_to_server, settings, store) as addr,
        grpc.aio.insecure_channel(addr) as channel,
    ):
        stub = seeder_pb2_grpc.SeederServiceStub(channel)
        req = seeder_pb2.GenerateKeyframesRequest(
            project_id="proj", concept=board, width=320, height=180, seed=2
        )
        events = [ev async for ev in stub.GenerateKeyframes(req, timeout=60)]
        bad = seeder_pb2.GenerateKeyframesRequest(
            project_id="proj", concept=board, width=320, height=180, shot_ids=["shot-404"]
        )
        with pytest.raises(grpc.aio.AioRpcError) as err:
            async for _ in stub.GenerateKeyframes(bad, timeout=30):
                pass
    progress = [ev.progress for ev in events if ev.HasField("progress")]
    # Per shot (the stream throttles to ~10 messages a second, always passing the last one).
    assert progress[-1].done == progress[-1].total == 5
    assert progress[-1].message.startswith("shot 5/5 (shot-")
    result = events[-1].result
    assert [k.shot_id for k in result.keyframes] == [s.id for s in board.storyboard.shots]
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "shot-404" in (err.value.details() or "")
