"""Run a gateway for real (uvicorn on a loopback socket, in a thread) — for tests and benchmarks."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from gateway.app import create_app
from gateway.config import GatewaySettings
from services.common.settings import Settings
from services.common.storage import LocalStore
from tests.support.fake_orchestrator import FakeOrchestrator, make_test_video, serve_fake


@contextmanager
def serve_in_thread(app: FastAPI) -> Iterator[str]:
    """Serve `app` with uvicorn on a free loopback port; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the gateway did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


@dataclass
class LiveGateway:
    url: str
    app: FastAPI
    fake: FakeOrchestrator
    store: LocalStore


@contextmanager
def live_gateway_with_fake(
    data_dir: Path,
    step_s: float = 0.05,
    video: bytes | None = None,
    gateway_settings: GatewaySettings | None = None,
    **settings_kw: object,
) -> Iterator[LiveGateway]:
    """The gateway under uvicorn in front of the fake orchestrator on a real gRPC port."""
    settings = Settings(data_dir=data_dir, **settings_kw)  # type: ignore[arg-type]
    store = LocalStore(settings.data_dir / "store")
    grpc_server, address, fake = serve_fake(
        store, step_s=step_s, video=video if video is not None else make_test_video(3.0)
    )
    settings.orchestrator_addr = address
    gw = gateway_settings or GatewaySettings(health_check_stages=False)
    app = create_app(settings, gw, store)
    try:
        with serve_in_thread(app) as url:
            yield LiveGateway(url, app, fake, store)
    finally:
        grpc_server.stop(0)
