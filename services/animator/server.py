"""Animator gRPC server entry points."""

from __future__ import annotations

import grpc
from lumiere.v1 import animator_pb2, animator_pb2_grpc

from services.animator.servicer import AnimatorServicer
from services.common.grpc_server import serve_stage
from services.common.settings import Settings
from services.common.storage import ArtifactStore

SERVICE_NAME = animator_pb2.DESCRIPTOR.services_by_name["AnimatorService"].full_name


def add_to_server(server: grpc.aio.Server, settings: Settings, store: ArtifactStore) -> list[str]:
    animator_pb2_grpc.add_AnimatorServiceServicer_to_server(
        AnimatorServicer(settings, store), server
    )
    return [SERVICE_NAME]


async def main() -> None:
    await serve_stage("animator", add_to_server, lambda settings: settings.animator_port)
