"""Which calls the shared channel retries: stage calls never (the orchestrator's policy does),
control calls to the orchestrator on UNAVAILABLE."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator

import grpc
import pytest

from services.common.grpc_client import aio_channel
from services.common.settings import Settings
from services.common.storage import ArtifactStore, LocalStore
from tests.support.servers import running_service

pytestmark = pytest.mark.integration

STAGE_METHOD = "/lumiere.v1.SeederService/GenerateKeyframes"
CONTROL_METHOD = "/lumiere.v1.OrchestratorService/GetProject"


@pytest.fixture
def calls() -> Counter[str]:
    return Counter()


@pytest.fixture
async def address(calls: Counter[str], settings: Settings, store: LocalStore) -> AsyncIterator[str]:
    async def unavailable_stream(request: bytes, context: grpc.aio.ServicerContext):  # type: ignore[no-untyped-def]
        calls[STAGE_METHOD] += 1
        await context.abort(grpc.StatusCode.UNAVAILABLE, "backend down")
        yield b""

    async def unavailable(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        calls[CONTROL_METHOD] += 1
        await context.abort(grpc.StatusCode.UNAVAILABLE, "restarting")
        return b""

    def add(server: grpc.aio.Server, settings: Settings, store: ArtifactStore) -> list[str]:
        server.add_generic_rpc_handlers(
            (
                grpc.method_handlers_generic_handler(
                    "lumiere.v1.SeederService",
                    {"GenerateKeyframes": grpc.unary_stream_rpc_method_handler(unavailable_stream)},
                ),
                grpc.method_handlers_generic_handler(
                    "lumiere.v1.OrchestratorService",
                    {"GetProject": grpc.unary_unary_rpc_method_handler(unavailable)},
                ),
            )
        )
        return []

    async with running_service(add, settings, store) as addr:
        yield addr


async def test_stage_calls_are_sent_once(address: str, calls: Counter[str]) -> None:
    async with aio_channel(address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            async for _ in channel.unary_stream(STAGE_METHOD)(b"", timeout=10):
                pass
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert calls[STAGE_METHOD] == 1


async def test_control_calls_are_retried_on_unavailable(address: str, calls: Counter[str]) -> None:
    async with aio_channel(address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await channel.unary_unary(CONTROL_METHOD)(b"", timeout=10)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert calls[CONTROL_METHOD] == 4
