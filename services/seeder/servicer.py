"""SeederService: a thin adapter from the gRPC request to `keyframes.generate_keyframes` (one
keyframe per storyboard shot, or per key moment without a storyboard)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial

import grpc
from lumiere.v1 import seeder_pb2, seeder_pb2_grpc

from services.common.errors import InvalidInput
from services.common.progress import stage_events
from services.common.storage import ArtifactStore
from services.seeder.backends import ImageBackend, ProceduralBackend, make_backend
from services.seeder.config import SeederSettings
from services.seeder.keyframes import generate_keyframes


class SeederServicer(seeder_pb2_grpc.SeederServiceServicer):
    def __init__(
        self, store: ArtifactStore, cfg: SeederSettings, backend: ImageBackend | None = None
    ) -> None:
        self.store = store
        self.cfg = cfg
        self.backend = backend or make_backend(cfg)
        self.procedural = ProceduralBackend(layers=cfg.layers)

    def backend_for(self, name: str) -> ImageBackend:
        """The project's choice: the deployment's backend, or the built-in engine."""
        if name in ("", self.backend.name):
            return self.backend
        if name == "procedural":
            return self.procedural
        raise InvalidInput(
            f"keyframe backend {name!r} is not offered by this deployment "
            f"(offered: {self.backend.name}, procedural)"
        )

    async def GenerateKeyframes(  # noqa: N802 - gRPC method name
        self, request: seeder_pb2.GenerateKeyframesRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[seeder_pb2.GenerateKeyframesEvent]:
        backend = self.backend_for(request.backend)
        work = partial(generate_keyframes, request, self.store, self.cfg, backend)
        async for event in stage_events("seeder", work, seeder_pb2.GenerateKeyframesEvent):
            yield event
