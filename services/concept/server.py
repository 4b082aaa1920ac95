"""Concept service entry point: `python -m services.concept`."""

from __future__ import annotations

import grpc
from lumiere.v1 import concept_pb2, concept_pb2_grpc

from services.common.grpc_server import serve
from services.common.logs import setup_logging
from services.common.settings import Settings, get_settings
from services.common.storage import ArtifactStore, open_store
from services.concept.servicer import ConceptServicer

SERVICE_NAME = concept_pb2.DESCRIPTOR.services_by_name["ConceptService"].full_name


def add_to_server(server: grpc.aio.Server, settings: Settings, store: ArtifactStore) -> list[str]:
    concept_pb2_grpc.add_ConceptServiceServicer_to_server(ConceptServicer(settings, store), server)
    return [SERVICE_NAME]


async def main() -> None:
    settings = get_settings()
    setup_logging("concept", settings.log_level)
    store = open_store(settings)
    names: list[str] = []

    def register(server: grpc.aio.Server) -> None:
        names.extend(add_to_server(server, settings, store))

    await serve("concept", f"{settings.host}:{settings.concept_port}", register, names)
