"""The orchestrator driving the REAL concept, seeder and animator services, each an in-process
gRPC server on loopback (the production factories), for tests that need the real stages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from lumiere.v1 import orchestrator_pb2_grpc

from services.animator.server import add_to_server as animator_add
from services.common.grpc_client import aio_channel
from services.common.settings import Settings
from services.common.storage import ArtifactStore
from services.concept.server import add_to_server as concept_add
from services.orchestrator import server as orch_server
from services.seeder.server import add_to_server as seeder_add
from tests.support.servers import running_service


@asynccontextmanager
async def real_orchestrator(
    settings: Settings, store: ArtifactStore, animators: int = 1
) -> AsyncIterator[orchestrator_pb2_grpc.OrchestratorServiceStub]:
    """Concept, seeder, `animators` animator replicas and the orchestrator; yields its stub."""
    async with AsyncExitStack() as stack:
        c = await stack.enter_async_context(running_service(concept_add, settings, store))
        s = await stack.enter_async_context(running_service(seeder_add, settings, store))
        replicas = [
            await stack.enter_async_context(running_service(animator_add, settings, store))
            for _ in range(animators)
        ]
        cfg = settings.model_copy(
            update={"concept_addr": c, "seeder_addr": s, "animator_addrs": ",".join(replicas)}
        )
        addr = await stack.enter_async_context(
            running_service(orch_server.add_to_server, cfg, store)
        )
        channel = aio_channel(addr)
        stack.push_async_callback(orch_server.stop_engines)
        stack.push_async_callback(channel.close)
        yield orchestrator_pb2_grpc.OrchestratorServiceStub(channel)
