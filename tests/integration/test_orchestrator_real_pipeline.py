"""The orchestrator driving the REAL concept, seeder and animator services (in-process gRPC
servers on loopback) on a short synthesized song: a finished MP4 with exactly
round(duration × fps) frames, and a regenerate that leaves the other segments byte-identical."""

from __future__ import annotations

import asyncio
from pathlib import Path

import av
import pytest
from lumiere.v1 import orchestrator_pb2, orchestrator_pb2_grpc

from services.common.settings import Settings
from services.common.storage import LocalStore
from tests.support.real_services import real_orchestrator
from tests.support.songs import write_short_song

pytestmark = pytest.mark.integration
pb = orchestrator_pb2
PS = pb.ProjectState


async def _finish(stub: orchestrator_pb2_grpc.OrchestratorServiceStub, pid: str) -> pb.Project:
    async with asyncio.timeout(90):
        async for _ in stub.WatchProject(pb.WatchProjectRequest(project_id=pid)):
            pass
    return (await stub.GetProject(pb.GetProjectRequest(project_id=pid))).project


def _frame_count(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


async def test_real_services_full_run_and_regenerate(
    settings: Settings, store: LocalStore, tmp_path: Path
) -> None:
    duration = write_short_song(tmp_path / "song.wav", seed=3)
    audio = store.put_file("uploads/real-1/audio.wav", tmp_path / "song.wav", "audio/wav")
    async with real_orchestrator(settings, store, animators=2) as stub:
        await stub.CreateProject(
            pb.CreateProjectRequest(
                project_id="real-1",
                prompt="a paper boat drifting through a neon city",
                audio=audio,
                options=pb.ProjectOptions(width=320, height=180, fps=12, seed=5),
            )
        )
        await stub.ProcessProject(pb.ProcessProjectRequest(project_id="real-1"))
        project = await _finish(stub, "real-1")
        assert project.state == PS.PROJECT_STATE_COMPLETED, (project.failed_stage, project.error)
        total = round(duration * 12)
        assert project.segments[-1].end_frame == total
        assert len(project.segments) >= 2
        with store.local_path(project.final_video.key) as path:
            assert _frame_count(path) == total

        before = {s.index: store.get_bytes(s.video.key) for s in project.segments}
        await stub.RegenerateSegment(
            pb.RegenerateSegmentRequest(project_id="real-1", segment_index=1, seed=4242)
        )
        after = await _finish(stub, "real-1")
        assert after.state == PS.PROJECT_STATE_COMPLETED, after.error
        changed = [
            s.index for s in after.segments if store.get_bytes(s.video.key) != before[s.index]
        ]
        assert changed == [1]
        with store.local_path(after.final_video.key) as path:
            assert _frame_count(path) == total
