"""The pipeline table (stages, labels, states) for clients: the web page reads it from here
instead of restating it."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.api.prefix import API_PREFIX
from services.common import stages

router = APIRouter(prefix=API_PREFIX, tags=["pipeline"])


# Open like /health: it describes the service, not anyone's projects.
@router.get("/pipeline", summary="The pipeline's stages (in order, with labels) and states")
async def pipeline() -> dict[str, object]:
    return stages.table_json()
