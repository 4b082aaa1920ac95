"""The REST gateway: FastAPI app factory.

The gateway owns uploads (it picks the project id, validates and stores the files, then calls
CreateProject with references), downloads (served from the shared store, with Range), live
progress (WatchProject as Server-Sent Events), auth, rate limits, metrics and the web page.
Everything about projects' state is the orchestrator's, reached over gRPC.

Layout (as fastapi/full-stack-fastapi-template): `api/routes/*` one router per resource,
`api/deps.py` typed dependencies, `forms.py` the create form, `sse.py` event streams,
`errors.py` exception type -> HTTP status, `orchestrator_client.py` the typed gRPC client.
This module only wires them together.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from gateway.api.main import include_routes
from gateway.config import GatewaySettings
from gateway.errors import install_error_handlers
from gateway.guard import RequestGuard
from gateway.metrics import MetricsMiddleware, serve_metrics_port
from gateway.security import install_log_redaction
from gateway.state import GatewayState
from services.common.settings import Settings, get_settings
from services.common.storage import ArtifactStore, open_store


def create_app(
    settings: Settings | None = None,
    gateway_settings: GatewaySettings | None = None,
    store: ArtifactStore | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    config = gateway_settings or GatewaySettings()
    state = GatewayState.build(
        settings, config, store if store is not None else open_store(settings)
    )
    if state.security.enabled:
        install_log_redaction()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The aio channel belongs to the serving event loop, so it is made here, not at import.
        _ = state.orchestrator
        async with serve_metrics_port(state):
            try:
                yield
            finally:
                await state.close()

    app = FastAPI(
        title="Lumiere",
        version="1.0",
        summary="Turns a song and a prompt into a music video whose motion follows the music.",
        lifespan=lifespan,
        # FastAPI's own /docs pages load Swagger UI from a CDN; ours serve it locally (offline).
        docs_url=None,
        redoc_url=None,
    )
    app.state.gateway = state
    # Tests and benchmarks read these two directly.
    app.state.metrics = state.metrics
    app.state.follower = state.follower

    install_error_handlers(app)
    app.add_middleware(RequestGuard, state=state)
    app.add_middleware(MetricsMiddleware, metrics=state.metrics)
    if config.cors_origin_list:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=config.cors_origin_list,
            allow_methods=["GET", "POST", "DELETE", "HEAD", "OPTIONS"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "Range"],
            expose_headers=["Content-Range", "Accept-Ranges", "Content-Length", "Location"],
        )
    include_routes(app, settings)
    return app
