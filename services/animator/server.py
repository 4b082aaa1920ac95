"""Animator gRPC server entry points."""

from __future__ import annotations

from functools import partial

import grpc
from lumiere.v1 import animator_pb2, animator_pb2_grpc

from services.animator.servicer import AnimatorServicer
from services.common.grpc_server import serve
from services.common.logs import setup_logging
from services.common.settings import Settings, get_settings
from services.common.storage import ArtifactStore, open_store

SERVICE_NAME = animator_pb2.DESCRIPTOR.services_by_name["AnimatorService"].full_name


def add_to_server(server: grpc.aio.Server, settings: Settings, store: ArtifactStore) -> list[str]:
    animator_pb2_grpc.add_AnimatorServiceServicer_to_server(
        AnimatorServicer(settings, store), server
    )
    return [SERVICE_NAME]


async def main() -> None:
    settings = get_settings()
    setup_logging("animator", settings.log_level)
    register = partial(add_to_server, settings=settings, store=open_store(settings))
    await serve("animator", f"{settings.host}:{settings.animator_port}", register)
