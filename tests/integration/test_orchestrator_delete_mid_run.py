"""Deleting a project while the real seeder draws its keyframes leaves nothing behind (issue 14,
defect 3: DELETE answered 204, then the keyframes still being drawn were written back)."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from lumiere.v1 import orchestrator_pb2, orchestrator_pb2_grpc

from services.animator.server import add_to_server as animator_add
from services.common import contract
from services.common.grpc_client import aio_channel
from services.common.settings import Settings
from services.common.storage import LocalStore
from services.concept.server import add_to_server as concept_add
from services.orchestrator import server as orch_server
from services.seeder.server import add_to_server as seeder_add
from tests.conftest import running_service
from tests.support.songs import write_short_song

pytestmark = pytest.mark.integration
pb = orchestrator_pb2


def _files(store: LocalStore, project_id: str) -> list[str]:
    found: list[str] = []
    for prefix in contract.project_prefixes(project_id):
        root = store.root / prefix
        if root.exists():
            found += [str(p.relative_to(store.root)) for p in root.rglob("*") if p.is_file()]
    return found


async def test_delete_during_the_seeder_leaves_no_files(
    settings: Settings, store: LocalStore, tmp_path: Path
) -> None:
    write_short_song(tmp_path / "song.wav", seed=4)
    pid = contract.new_project_id()
    audio = store.put_file(contract.audio_key(pid, "wav"), tmp_path / "song.wav", "audio/wav")
    async with AsyncExitStack() as stack:
        c = await stack.enter_async_context(running_service(concept_add, settings, store))
        s = await stack.enter_async_context(running_service(seeder_add, settings, store))
        a = await stack.enter_async_context(running_service(animator_add, settings, store))
        cfg = settings.model_copy(update={"concept_addr": c, "seeder_addr": s, "animator_addrs": a})
        addr = await stack.enter_async_context(
            running_service(orch_server.add_to_server, cfg, store)
        )
        channel = aio_channel(addr)
        stack.push_async_callback(orch_server.stop_engines)
        stack.push_async_callback(channel.close)
        stub = orchestrator_pb2_grpc.OrchestratorServiceStub(channel)
        await stub.CreateProject(
            pb.CreateProjectRequest(
                project_id=pid,
                prompt="a lighthouse in a storm",
                audio=audio,
                options=pb.ProjectOptions(width=640, height=360, fps=12, seed=2),
            )
        )
        await stub.ProcessProject(pb.ProcessProjectRequest(project_id=pid))
        seeds = store.root / contract.outputs_prefix(pid) / "seeds"
        async with asyncio.timeout(60):
            # Until the seeder has stored its first keyframes and is drawing the rest.
            while not (seeds.exists() and any(seeds.rglob("*.png"))):
                await asyncio.sleep(0.05)
        drawn = sum(1 for _ in seeds.rglob("*.png"))
        await stub.DeleteProject(pb.DeleteProjectRequest(project_id=pid))
        # Whatever was still being drawn had its chance to be written back.
        await asyncio.sleep(6)
        assert _files(store, pid) == [], f"{drawn} keyframe file(s) existed at the delete"
