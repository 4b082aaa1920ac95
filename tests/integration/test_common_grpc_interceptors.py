"""The server factory's interceptors on loopback: a tiny bytes-in/bytes-out service that fails on
purpose shows how each failure reaches the caller and what one call logs and counts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

import grpc
import pytest

from services.common.errors import InvalidInput
from services.common.grpc_interceptors import HANDLED
from services.common.settings import Settings
from services.common.storage import ArtifactStore, LocalStore
from tests.conftest import running_service

pytestmark = pytest.mark.integration

SERVICE = "lumiere.test.Tiny"
LOGGER = "services.common.grpc_interceptors"


async def echo(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    return request


async def invalid(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    raise InvalidInput("the song is 0 seconds long: upload a longer one")


async def crash(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    raise RuntimeError("disk on fire")


async def own_abort(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "no slots")
    raise AssertionError("abort returns by raising")


async def fail_mid_stream(
    request: bytes, context: grpc.aio.ServicerContext
) -> AsyncIterator[bytes]:
    yield b"one"
    yield b"two"
    raise InvalidInput("keyframe 3 is unreadable")


async def endless(request: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
    yield b"started"
    await asyncio.sleep(60)
    yield b"never"


def add_tiny(server: grpc.aio.Server, settings: Settings, store: ArtifactStore) -> list[str]:
    unary = {
        name: grpc.unary_unary_rpc_method_handler(fn)
        for name, fn in [("Echo", echo), ("Invalid", invalid), ("Crash", crash)]
    }
    unary["OwnAbort"] = grpc.unary_unary_rpc_method_handler(own_abort)
    streams = {
        "FailMidStream": grpc.unary_stream_rpc_method_handler(fail_mid_stream),
        "Endless": grpc.unary_stream_rpc_method_handler(endless),
    }
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(SERVICE, unary | streams),)
    )
    return [SERVICE]


@pytest.fixture
async def channel(settings: Settings, store: LocalStore) -> AsyncIterator[grpc.aio.Channel]:
    async with (
        running_service(add_tiny, settings, store) as addr,
        grpc.aio.insecure_channel(addr) as channel,
    ):
        yield channel


def unary(channel: grpc.aio.Channel, name: str) -> grpc.aio.UnaryUnaryMultiCallable:
    return channel.unary_unary(f"/{SERVICE}/{name}")


def handled(method: str, code: str) -> float:
    return HANDLED.labels(f"/{SERVICE}/{method}", code)._value.get()


async def eventually(check: Callable[[], bool]) -> None:
    """The server logs and counts a call after its status went out: wait for it a little."""
    for _ in range(100):
        if check():
            return
        await asyncio.sleep(0.02)


async def test_lumiere_error_becomes_its_status_with_the_message(channel: grpc.aio.Channel) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await unary(channel, "Invalid")(b"")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details() == "the song is 0 seconds long: upload a longer one"


async def test_unexpected_exception_is_internal_and_logged(
    channel: grpc.aio.Channel, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await unary(channel, "Crash")(b"")
    assert err.value.code() == grpc.StatusCode.INTERNAL
    assert err.value.details() == "RuntimeError: disk on fire"
    tracebacks = [r for r in caplog.records if r.exc_info and "Crash failed" in r.getMessage()]
    assert tracebacks and tracebacks[0].exc_info[0] is RuntimeError  # type: ignore[index]


async def test_servicer_abort_passes_through_unchanged(channel: grpc.aio.Channel) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await unary(channel, "OwnAbort")(b"")
    assert (err.value.code(), err.value.details()) == (
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "no slots",
    )


async def test_stream_failing_mid_stream_delivers_messages_then_the_status(
    channel: grpc.aio.Channel,
) -> None:
    call = channel.unary_stream(f"/{SERVICE}/FailMidStream")(b"")
    received = []
    with pytest.raises(grpc.aio.AioRpcError) as err:
        async for message in call:
            received.append(message)
    assert received == [b"one", b"two"]
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details() == "keyframe 3 is unreadable"


async def test_each_call_logs_one_line_with_method_status_and_duration(
    channel: grpc.aio.Channel, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    assert await unary(channel, "Echo")(b"hi") == b"hi"
    with pytest.raises(grpc.aio.AioRpcError):
        await unary(channel, "Invalid")(b"")

    def call_lines() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == LOGGER and not r.exc_info]

    await eventually(lambda: len(call_lines()) >= 2)
    lines = call_lines()
    assert [line.rsplit(" ", 2)[0] for line in lines] == [
        f"/{SERVICE}/Echo OK",
        f"/{SERVICE}/Invalid INVALID_ARGUMENT",
    ]
    assert all(line.endswith(" s") and float(line.split()[-2]) >= 0 for line in lines)


async def test_each_call_is_counted_by_method_and_status(channel: grpc.aio.Channel) -> None:
    before = handled("Invalid", "INVALID_ARGUMENT")
    with pytest.raises(grpc.aio.AioRpcError):
        await unary(channel, "Invalid")(b"")
    await eventually(lambda: handled("Invalid", "INVALID_ARGUMENT") > before)
    assert handled("Invalid", "INVALID_ARGUMENT") == before + 1


async def test_client_cancellation_passes_through_as_cancelled(
    channel: grpc.aio.Channel,
) -> None:
    before = handled("Endless", "CANCELLED")
    call = channel.unary_stream(f"/{SERVICE}/Endless")(b"")
    assert await call.read() == b"started"
    call.cancel()
    await eventually(lambda: handled("Endless", "CANCELLED") > before)
    assert handled("Endless", "CANCELLED") == before + 1
