"""A real gRPC server of one service on a free loopback port, for tests and benchmarks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import grpc

from services.common.grpc_server import start_server
from services.common.settings import Settings
from services.common.storage import ArtifactStore

AddToServer = Callable[[grpc.aio.Server, Settings, ArtifactStore], list[str]]


@asynccontextmanager
async def running_service(
    add_to_server: AddToServer, settings: Settings, store: ArtifactStore
) -> AsyncIterator[str]:
    """Start one service's real gRPC server (the production factory); yield its address."""

    def register(server: grpc.aio.Server) -> list[str]:
        return add_to_server(server, settings, store)

    server, _health, port = await start_server("127.0.0.1:0", register)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(0)
