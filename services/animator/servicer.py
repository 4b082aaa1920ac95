"""Thin gRPC adapter: unpack the request, run the CPU work in a thread, stream progress."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from functools import partial

import grpc
from lumiere.v1 import animator_pb2, animator_pb2_grpc

from services.animator.compose import compose_video
from services.animator.generated import ShotBackends
from services.animator.runtime import tune_process
from services.animator.segment import render_segment
from services.common.progress import stage_events
from services.common.settings import Settings
from services.common.storage import ArtifactStore


class AnimatorServicer(animator_pb2_grpc.AnimatorServiceServicer):
    def __init__(self, settings: Settings, store: ArtifactStore) -> None:
        self.settings = settings
        self.store = store
        # Each render keeps ~2 threads busy (render + encode); bound the concurrent renders so a
        # replica never oversubscribes its cores. Extra calls queue here.
        self._slots = asyncio.Semaphore(max(1, settings.animator_workers))
        self.backends = ShotBackends(settings)
        tune_process()

    async def RenderSegment(  # noqa: N802 - gRPC method name
        self, request: animator_pb2.RenderSegmentRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[animator_pb2.RenderSegmentEvent]:
        async with self._slots:
            work = partial(render_segment, request, self.store, backends=self.backends)
            async for event in stage_events("animator", work, animator_pb2.RenderSegmentEvent):
                yield event

    async def ComposeVideo(  # noqa: N802
        self, request: animator_pb2.ComposeVideoRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[animator_pb2.ComposeVideoEvent]:
        work = partial(compose_video, request, self.store)
        async for event in stage_events("compose", work, animator_pb2.ComposeVideoEvent):
            yield event
