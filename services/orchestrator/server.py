"""Wiring: `add_to_server` for in-process servers and tests, `main` for `python -m`."""

from __future__ import annotations

import asyncio
import logging

import grpc
from lumiere.v1 import orchestrator_pb2_grpc

from services.common.grpc_server import serve
from services.common.logs import setup_logging
from services.common.settings import Settings, get_settings
from services.common.storage import ArtifactStore, open_store
from services.orchestrator.engine import Engine
from services.orchestrator.servicer import OrchestratorServicer

SERVICE_NAME = "lumiere.v1.OrchestratorService"
log = logging.getLogger(__name__)

# Engines started by add_to_server, so an embedding process (tests, the devstack) can stop them:
# a gRPC server has no shutdown hook of its own.
ENGINES: list[Engine] = []


def register(server: grpc.aio.Server, engine: Engine) -> list[str]:
    orchestrator_pb2_grpc.add_OrchestratorServiceServicer_to_server(
        OrchestratorServicer(engine), server
    )
    return [SERVICE_NAME]


def add_to_server(server: grpc.aio.Server, settings: Settings, store: ArtifactStore) -> list[str]:
    """Register the service and start its engine (scheduler + lease heartbeat) on this loop."""
    engine = Engine(settings, store)
    ENGINES.append(engine)
    engine.started = asyncio.get_running_loop().create_task(engine.start())
    return register(server, engine)


async def stop_engines(release: bool = True) -> None:
    while ENGINES:
        await ENGINES.pop().stop(release)


async def main() -> None:
    settings = get_settings()
    setup_logging("orchestrator", settings.log_level)
    store = open_store(settings)
    engine = Engine(settings, store)
    log.info("orchestrator replica %s, database %s", engine.owner, engine.db.engine.url)
    await engine.start()

    def register_engine(server: grpc.aio.Server) -> None:
        register(server, engine)

    try:
        await serve(
            "orchestrator",
            f"{settings.host}:{settings.orchestrator_port}",
            register_engine,
            [SERVICE_NAME],
        )
    finally:
        await engine.stop()
