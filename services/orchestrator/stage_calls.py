"""Every call the pipeline makes to a stage service, each under the one retry policy.

Concept and seeder calls go to their service's address; animator calls (segments, compose) go
to a replica of the pool, each attempt avoiding the replicas that already failed it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from lumiere.v1 import (
    animator_pb2,
    animator_pb2_grpc,
    common_pb2,
    concept_pb2,
    concept_pb2_grpc,
    seeder_pb2,
    seeder_pb2_grpc,
)

from services.common import stages
from services.common.settings import Settings
from services.common.stages import StageValue
from services.orchestrator.pool import AnimatorPool
from services.orchestrator.retry import OnAttempt, RetryPolicy, StageError

OnProgress = Callable[[common_pb2.Progress], Awaitable[None]]


async def _result(
    stage: StageValue, what: str, stream: AsyncIterator[Any], on_progress: OnProgress
) -> Any:
    """Consume a stage's event stream: report its progress, return its result."""
    result = None
    async for event in stream:
        kind = event.WhichOneof("event")
        if kind == "progress":
            await on_progress(event.progress)
        elif kind == "result":
            result = event.result
    if result is None:
        raise StageError(stage, f"{what} ended its stream without a result", True)
    return result


class StageCalls:
    def __init__(
        self,
        settings: Settings,
        concept: concept_pb2_grpc.ConceptServiceStub,
        seeder: seeder_pb2_grpc.SeederServiceStub,
        pool: AnimatorPool,
        retry: RetryPolicy,
    ) -> None:
        self.settings = settings
        self.concept = concept
        self.seeder = seeder
        self.pool = pool
        self.retry = retry

    async def analyze(
        self,
        request: concept_pb2.AnalyzeAudioRequest,
        on_attempt: OnAttempt,
        on_progress: OnProgress,
    ) -> concept_pb2.AnalyzeAudioResult:
        return await self._on_service(  # type: ignore[no-any-return]
            common_pb2.STAGE_CONCEPT,
            self.settings.concept_target,
            lambda: self.concept.AnalyzeAudio(request, timeout=self.settings.concept_deadline_s),
            on_attempt,
            on_progress,
        )

    async def keyframes(
        self,
        request: seeder_pb2.GenerateKeyframesRequest,
        on_attempt: OnAttempt,
        on_progress: OnProgress,
    ) -> seeder_pb2.GenerateKeyframesResult:
        return await self._on_service(  # type: ignore[no-any-return]
            common_pb2.STAGE_SEEDER,
            self.settings.seeder_target,
            lambda: self.seeder.GenerateKeyframes(request, timeout=self.settings.seeder_deadline_s),
            on_attempt,
            on_progress,
        )

    async def render(
        self,
        request: animator_pb2.RenderSegmentRequest,
        on_attempt: OnAttempt,
        on_progress: OnProgress,
    ) -> animator_pb2.RenderSegmentResult:
        return await self._on_animators(  # type: ignore[no-any-return]
            common_pb2.STAGE_ANIMATOR,
            f"animator (segment {request.segment_index})",
            request.project_id,
            lambda stub: stub.RenderSegment(request, timeout=self.settings.segment_deadline_s),
            on_attempt,
            on_progress,
        )

    async def compose(
        self,
        request: animator_pb2.ComposeVideoRequest,
        on_attempt: OnAttempt,
        on_progress: OnProgress,
    ) -> animator_pb2.ComposeVideoResult:
        return await self._on_animators(  # type: ignore[no-any-return]
            common_pb2.STAGE_COMPOSE,
            stages.stage_name(common_pb2.STAGE_COMPOSE),
            request.project_id,
            lambda stub: stub.ComposeVideo(request, timeout=self.settings.compose_deadline_s),
            on_attempt,
            on_progress,
        )

    async def _on_service(
        self,
        stage: StageValue,
        target: str,
        open_stream: Callable[[], AsyncIterator[Any]],
        on_attempt: OnAttempt,
        on_progress: OnProgress,
    ) -> Any:
        what = stages.stage_name(stage)

        async def attempt(_n: int) -> Any:
            await on_attempt(target)
            return await _result(stage, what, open_stream(), on_progress)

        return await self.retry.run(stage, what, attempt, lambda: target)

    async def _on_animators(
        self,
        stage: StageValue,
        what: str,
        project_id: str,
        open_stream: Callable[[animator_pb2_grpc.AnimatorServiceStub], AsyncIterator[Any]],
        on_attempt: OnAttempt,
        on_progress: OnProgress,
    ) -> Any:
        replicas = self.pool.attempts(project_id)

        async def attempt(_n: int) -> Any:
            async with replicas.slot() as replica:
                await on_attempt(replica.target)
                return await _result(stage, what, open_stream(replica.stub), on_progress)

        return await self.retry.run(stage, what, attempt, replicas.where)
