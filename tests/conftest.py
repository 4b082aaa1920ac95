"""Fixtures shared by every test: an isolated data dir and store, and real gRPC servers.

Unit tests (tests/unit) need no servers. Integration tests (tests/integration) are marked
`integration` and start real gRPC servers on loopback (in-process aio servers on a free port,
or separate processes for the end-to-end tests).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import grpc
import pytest

from services.common.grpc_server import start_server
from services.common.settings import Settings
from services.common.storage import ArtifactStore, LocalStore
from tests.support.postgres import throwaway_database
from tests.support.s3_server import moto_s3_server

AddToServer = Callable[[grpc.aio.Server, Settings, ArtifactStore], list[str]]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def store(settings: Settings) -> LocalStore:
    return LocalStore(settings.data_dir / "store")


@asynccontextmanager
async def running_service(
    add_to_server: AddToServer, settings: Settings, store: ArtifactStore
) -> AsyncIterator[str]:
    """Start one service's real gRPC server on a free loopback port; yield its address."""
    names: list[str] = []

    def register(server: grpc.aio.Server) -> None:
        names.extend(add_to_server(server, settings, store))

    # Service names are only known after registration; start_server sets health for them.
    server, _health, port = await start_server("127.0.0.1:0", register, names)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(0)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """One moto S3 server process for the session (`host:port`); tests use their own buckets."""
    with moto_s3_server() as endpoint:
        yield endpoint


@pytest.fixture
def pg_url() -> Iterator[str]:
    """URL of a throw-away PostgreSQL database (skips the test when the server is unreachable)."""
    with throwaway_database() as url:
        yield url
