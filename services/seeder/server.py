"""Run the seeder: `python -m services.seeder` (settings from LUMIERE_* / LUMIERE_SEEDER_*)."""

from __future__ import annotations

import grpc
from lumiere.v1 import seeder_pb2, seeder_pb2_grpc

from services.common.grpc_server import serve_stage
from services.common.settings import Settings
from services.common.storage import ArtifactStore
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
    await serve_stage("seeder", add_to_server, lambda settings: settings.seeder_port)
