"""The web pages (upload and list; one project's timeline) and the API reference (Swagger UI,
ReDoc), all served locally (offline)."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parents[2] / "static"
SWAGGER_DIR = Path(fastapi_offline.__file__).parent / "static"

router = APIRouter(include_in_schema=False)


@router.get("/")
async def index() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})


@router.get("/projects/{project_id}")
async def timeline_page(project_id: str) -> FileResponse:
    """One project's timeline; the page reads the project through the API (which checks the
    id and the caller's key), so the page itself is the same file for every project."""
    del project_id
    return FileResponse(STATIC_DIR / "timeline.html", headers={"Cache-Control": "no-cache"})


@router.get("/docs")
async def swagger_ui() -> Response:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="Lumiere API",
        swagger_js_url="/static/vendor/swagger-ui-bundle.js",
        swagger_css_url="/static/vendor/swagger-ui.css",
        swagger_favicon_url="/static/vendor/favicon.png",
    )


@router.get("/redoc")
async def redoc() -> Response:
    return get_redoc_html(
        openapi_url="/openapi.json",
        title="Lumiere API",
        redoc_js_url="/static/vendor/redoc.standalone.js",
        redoc_favicon_url="/static/vendor/favicon.png",
        with_google_fonts=False,
    )


def mount_static(app: FastAPI) -> None:
    # Swagger UI / ReDoc assets ship in the fastapi-offline wheel; we only use its files.
    app.mount("/static/vendor", StaticFiles(directory=SWAGGER_DIR), name="vendor")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
