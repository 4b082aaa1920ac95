"""All routes: the versioned API under /api/v1, plus the service endpoints and the page."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from gateway.api.routes import events, media, pages, pipeline, projects, service
from services.common.settings import Settings

API_PREFIX = "/api/v1"

api_router = APIRouter(prefix=API_PREFIX)
api_router.include_router(projects.router)
api_router.include_router(media.router)
api_router.include_router(events.router)
api_router.include_router(pipeline.router)


def include_routes(app: FastAPI, settings: Settings) -> None:
    app.include_router(service.router)
    app.include_router(api_router)
    app.include_router(pages.router)
    projects.document_create_form(app, settings.max_upload_mb)
    pages.mount_static(app)
