"""Fixtures shared by every test: an isolated data dir and store, and real gRPC servers.

Unit tests (tests/unit) need no servers. Integration tests (tests/integration) are marked
`integration` and start real gRPC servers on loopback (in-process aio servers on a free port,
or separate processes for the end-to-end tests).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.common.settings import Settings
from services.common.storage import LocalStore
from tests.support.postgres import throwaway_database
from tests.support.s3_server import moto_s3_server
from tests.support.servers import AddToServer, running_service

__all__ = ["AddToServer", "running_service"]  # imported by the integration tests


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def store(settings: Settings) -> LocalStore:
    return LocalStore(settings.data_dir / "store")


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
