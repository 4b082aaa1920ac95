"""All routes: the versioned API under /api/v1, the service endpoints and the page."""

from __future__ import annotations

from fastapi import FastAPI

from gateway.api.routes import (
    events,
    media,
    pages,
    pipeline,
    projects,
    service,
    storyboard,
    timeline,
)
from services.common.settings import Settings


def include_routes(app: FastAPI, settings: Settings) -> None:
    app.include_router(service.router)
    for resource in (projects, media, storyboard, timeline, events, pipeline):
        app.include_router(resource.router)
    app.include_router(pages.router)
    projects.document_create_form(app, settings.max_upload_mb)
    pages.mount_static(app)
