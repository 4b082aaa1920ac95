"""Deleting a project while the real seeder draws its keyframes leaves nothing behind (issue 14,
defect 3: DELETE answered 204, then the keyframes still being drawn were written back)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lumiere.v1 import orchestrator_pb2

from services.common import contract
from services.common.settings import Settings
from services.common.storage import LocalStore
from tests.support.real_services import real_orchestrator
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
    async with real_orchestrator(settings, store) as stub:
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
