"""The one way every Lumiere service runs its gRPC server.

grpc.aio server with the standard health service (grpc.health.v1), reflection, larger message
limits, the interceptors of `grpc_interceptors` (error mapping, one log line and metrics per call:
servicers only raise), and graceful shutdown on SIGTERM/SIGINT (health flips to NOT_SERVING
first so load balancers stop sending work, then in-flight calls get a grace period).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from services.common.grpc_interceptors import server_interceptors
from services.common.logs import setup_logging
from services.common.settings import Settings, get_settings
from services.common.storage import ArtifactStore, open_store

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
SERVER_OPTIONS = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.so_reuseport", 0),
]


# Adds servicers to the server; may return the full names of the services it added.
Register = Callable[[grpc.aio.Server], Sequence[str] | None]


async def start_server(
    address: str,
    register: Register,
    service_names: Sequence[str] = (),
) -> tuple[grpc.aio.Server, health.aio.HealthServicer, int]:
    """Build and start a server; returns it, its health servicer and the bound port.

    The services reported healthy are `service_names` plus the names `register` returns.
    """
    server = grpc.aio.server(options=SERVER_OPTIONS, interceptors=server_interceptors())
    service_names = [*service_names, *(register(server) or ())]
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        [*service_names, health.SERVICE_NAME, reflection.SERVICE_NAME], server
    )
    port = server.add_insecure_port(address)
    if port == 0:
        raise RuntimeError(f"could not bind {address}")
    await server.start()
    for name in [*service_names, ""]:
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return server, health_servicer, port


async def serve(
    name: str,
    address: str,
    register: Register,
    service_names: Sequence[str] = (),
    grace_seconds: float = 10.0,
    on_started: Callable[[], Any] | None = None,
) -> None:
    """Run until SIGTERM/SIGINT, then drain: health NOT_SERVING (callers pick another replica),
    no new calls, in-flight calls get `grace_seconds` to finish (an animator its segment). A
    call still running then is cancelled, which its caller sees as CANCELLED from the server
    and retries elsewhere: the work is handed back, not lost."""
    server, health_servicer, port = await start_server(address, register, service_names)
    log.info("%s listening on %s (port %d)", name, address, port)
    if on_started is not None:
        on_started()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    waiter = asyncio.create_task(server.wait_for_termination())
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
    log.info("%s shutting down", name)
    await health_servicer.enter_graceful_shutdown()
    await server.stop(grace_seconds)
    stopper.cancel()
    waiter.cancel()


AddToServer = Callable[[grpc.aio.Server, Settings, ArtifactStore], Sequence[str]]


async def serve_stage(
    name: str,
    add_to_server: AddToServer,
    port: Callable[[Settings], int],
    prepare: Callable[[logging.Logger], Awaitable[None]] | None = None,
) -> None:
    """`python -m services.<name>`: settings from the environment, logging, the artifact store,
    then `prepare` (e.g. a warm-up before the service reports SERVING), then serve."""
    settings = get_settings()
    service_log = setup_logging(name, settings.log_level)
    store = open_store(settings)
    if prepare is not None:
        await prepare(service_log)

    def register(server: grpc.aio.Server) -> Sequence[str]:
        return add_to_server(server, settings, store)

    await serve(
        name, f"{settings.host}:{port(settings)}", register, grace_seconds=settings.shutdown_grace_s
    )
