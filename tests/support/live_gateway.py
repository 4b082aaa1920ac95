"""Run a gateway for real (uvicorn on a loopback socket, in a thread) — for tests and benchmarks."""

from __future__ import annotations

import asyncio
import io
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import soundfile as sf
import uvicorn
from fastapi import FastAPI

from gateway.app import create_app
from gateway.config import GatewaySettings
from gateway.serving import uvicorn_config
from services.common.settings import Settings
from services.common.storage import LocalStore
from services.orchestrator import server as orch_server
from tests.support.fake_orchestrator import FakeOrchestrator, make_test_video, serve_fake
from tests.support.fake_stages import FakeKnobs, fake_adders
from tests.support.servers import running_service


@contextmanager
def serve_in_thread(app: FastAPI) -> Iterator[str]:
    """Serve `app` with uvicorn on a free loopback port; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # A gateway is served as `python -m gateway` serves it (slow-client limits included); other
    # apps (loopback stand-ins of remote services) plainly.
    gateway = getattr(app.state, "gateway", None)
    config = (
        uvicorn_config(app, gateway.config, log_level="warning")
        if gateway is not None
        else uvicorn.Config(app, log_level="warning")
    )
    server = uvicorn.Server(config)
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


def wav_bytes(seconds: float = 1.0, sr: int = 22050) -> bytes:
    t = np.arange(int(seconds * sr)) / sr
    out = io.BytesIO()
    sf.write(out, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), sr, format="WAV")
    return out.getvalue()


@dataclass
class Live:
    client: httpx.AsyncClient
    knobs: FakeKnobs
    store: LocalStore
    app: Any

    async def create(self, **form: str) -> httpx.Response:
        return await self.client.post(
            "/api/v1/projects",
            data={"prompt": "ocean at dawn", "width": "320", "height": "180", "fps": "12", **form},
            files={"audio": ("song.wav", wav_bytes(), "audio/wav")},
        )

    async def events(self, pid: str) -> list[tuple[str, dict]]:
        """Follow the SSE stream to its end."""
        out: list[tuple[str, dict]] = []
        kind = ""
        async with self.client.stream("GET", f"/api/v1/projects/{pid}/events") as resp:
            assert resp.status_code == 200
            assert resp.headers["content-type"].startswith("text/event-stream")
            async for line in resp.aiter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    out.append((kind, json.loads(line[6:])))
        return out


@asynccontextmanager
async def live_stack(
    settings: Settings, store: LocalStore, knobs: FakeKnobs
) -> AsyncIterator[Live]:
    concept, seeder, animator = fake_adders(knobs)
    async with AsyncExitStack() as stack:
        c = await stack.enter_async_context(running_service(concept, settings, store))
        s = await stack.enter_async_context(running_service(seeder, settings, store))
        a = await stack.enter_async_context(running_service(animator, settings, store))
        cfg = settings.model_copy(update={"concept_addr": c, "seeder_addr": s, "animator_addrs": a})
        o = await stack.enter_async_context(running_service(orch_server.add_to_server, cfg, store))
        cfg = cfg.model_copy(update={"orchestrator_addr": o})
        app = create_app(cfg, GatewaySettings(metrics_cache_s=0), store)

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        server = uvicorn.Server(
            uvicorn_config(app, app.state.gateway.config, log_level="warning", lifespan="on")
        )
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            await asyncio.sleep(0.01)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                yield Live(client, knobs, store, app)
        finally:
            server.should_exit = True
            await task
            sock.close()
            await orch_server.stop_engines()
