"""Run the seeder: `python -m services.seeder` (settings from LUMIERE_* / LUMIERE_SEEDER_*)."""

from __future__ import annotations

from functools import partial

import grpc
from lumiere.v1 import seeder_pb2, seeder_pb2_grpc

from services.common.grpc_server import serve
from services.common.logs import setup_logging
from services.common.settings import Settings, get_settings
from services.common.storage import ArtifactStore, open_store
from services.seeder.config import SeederSettings
from services.seeder.servicer import SeederServicer

SERVICE_NAME = seeder_pb2.DESCRIPTOR.services_by_name["SeederService"].full_name


def add_to_server(
    server: grpc.aio.Server,
    settings: Settings,
    store: ArtifactStore,
    cfg: SeederSettings | None = None,
) -> list[str]:
    servicer = SeederServicer(store, cfg or SeederSettings())
    seeder_pb2_grpc.add_SeederServiceServicer_to_server(servicer, server)
    return [SERVICE_NAME]


async def main() -> None:
    settings = get_settings()
    setup_logging("seeder", settings.log_level)
    register = partial(add_to_server, settings=settings, store=open_store(settings))
    await serve("seeder", f"{settings.host}:{settings.seeder_port}", register)
