"""Server interceptors every Lumiere service runs with (installed by `grpc_server.start_server`).

A servicer method only does its work and raises; what every call needs is added here once, as
in grpc/grpc `examples/python/interceptors`:

- `ErrorMapping`: a LumiereError becomes its gRPC status with the person-readable message; any
  other exception is logged with its traceback and reported as INTERNAL; cancellation and a
  servicer's own `context.abort` pass through untouched.
- `CallLog`: one log line per call (method, status code, duration) and two Prometheus series,
  `lumiere_grpc_server_handled_total{method,code}` and `lumiere_grpc_server_handling_seconds`.

Both work for unary and streaming methods: each concern is an async context manager around the
call, and `_around` opens it around a coroutine (unary) or an async generator (streaming, so a
failure after some messages were sent is still mapped).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import grpc
from prometheus_client import Counter, Histogram

from services.common.errors import LumiereError

log = logging.getLogger(__name__)

Behavior = Callable[[Any, grpc.aio.ServicerContext], Any]
Scope = Callable[[str, grpc.aio.ServicerContext], AbstractAsyncContextManager[None]]

# Probes and tooling poll these; their calls are logged at DEBUG so the log keeps to real work.
QUIET_PREFIXES = ("/grpc.health.", "/grpc.reflection.")

# Process-wide (every server in the process shares them, as Prometheus expects one series set).
HANDLED = Counter(
    "lumiere_grpc_server_handled_total",
    "gRPC calls finished by this process, by method and status code.",
    ["method", "code"],
)
HANDLING_SECONDS = Histogram(
    "lumiere_grpc_server_handling_seconds",
    "Duration of gRPC calls (to the last message for streaming calls).",
    ["method"],
    buckets=(0.005, 0.05, 0.25, 1, 5, 15, 60, 300, 1800),
)


def _around(scope: Scope, method: str, behavior: Behavior) -> Behavior:
    """`behavior` with `scope(method, context)` open for the whole call."""
    if inspect.isasyncgenfunction(behavior):

        async def stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            async with scope(method, context):
                async for item in behavior(request, context):
                    yield item

        return stream
    if inspect.iscoroutinefunction(behavior):

        async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            async with scope(method, context):
                return await behavior(request, context)

        return unary
    return behavior  # a sync handler runs in grpc's executor; no Lumiere service has one


def _wrap_handler(handler: grpc.RpcMethodHandler, wrap: Callable[[Behavior], Behavior]) -> Any:
    """The same handler (kind, (de)serializers) with its behaviour wrapped."""
    if handler.request_streaming and handler.response_streaming:
        behavior, factory = handler.stream_stream, grpc.stream_stream_rpc_method_handler
    elif handler.request_streaming:
        behavior, factory = handler.stream_unary, grpc.stream_unary_rpc_method_handler
    elif handler.response_streaming:
        behavior, factory = handler.unary_stream, grpc.unary_stream_rpc_method_handler
    else:
        behavior, factory = handler.unary_unary, grpc.unary_unary_rpc_method_handler
    return factory(
        wrap(behavior),
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


class _ScopeInterceptor(grpc.aio.ServerInterceptor):
    """Opens `scope` around every call of every service on the server."""

    scope: Scope

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:  # unknown method: grpc answers UNIMPLEMENTED itself
            return handler
        method = handler_call_details.method  # type: ignore[attr-defined]
        return _wrap_handler(handler, lambda behavior: _around(self.scope, method, behavior))


@asynccontextmanager
async def mapped_errors(method: str, context: grpc.aio.ServicerContext) -> AsyncIterator[None]:
    try:
        yield
    except (asyncio.CancelledError, grpc.aio.AbortError):
        raise
    except LumiereError as exc:
        await context.abort(exc.code, str(exc))
    except Exception as exc:  # noqa: BLE001 - the last line of defence of every servicer
        log.exception("%s failed", method)
        await context.abort(grpc.StatusCode.INTERNAL, f"{type(exc).__name__}: {exc}")


def _status(context: grpc.aio.ServicerContext, default: grpc.StatusCode) -> grpc.StatusCode:
    code = context.code()
    return code if isinstance(code, grpc.StatusCode) else default


@asynccontextmanager
async def logged_call(method: str, context: grpc.aio.ServicerContext) -> AsyncIterator[None]:
    started = time.perf_counter()
    code = grpc.StatusCode.UNKNOWN
    try:
        yield
        code = _status(context, grpc.StatusCode.OK)
    except asyncio.CancelledError:
        code = grpc.StatusCode.CANCELLED
        raise
    except grpc.aio.AbortError:
        code = _status(context, grpc.StatusCode.UNKNOWN)
        raise
    finally:
        seconds = time.perf_counter() - started
        HANDLED.labels(method, code.name).inc()
        HANDLING_SECONDS.labels(method).observe(seconds)
        level = logging.DEBUG if method.startswith(QUIET_PREFIXES) else logging.INFO
        log.log(level, "%s %s %.3f s", method, code.name, seconds)


class ErrorMapping(_ScopeInterceptor):
    scope = staticmethod(mapped_errors)


class CallLog(_ScopeInterceptor):
    scope = staticmethod(logged_call)


def server_interceptors() -> list[grpc.aio.ServerInterceptor]:
    """Outermost first: the log sees the status the error mapping chose."""
    return [CallLog(), ErrorMapping()]
