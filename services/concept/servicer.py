"""ConceptService: a thin adapter from the gRPC call to the pure analysis functions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial

import grpc
from google.protobuf import json_format
from lumiere.v1 import concept_pb2, concept_pb2_grpc

from services.common.contract import MAX_KEY_MOMENTS, check_project_id, concept_key
from services.common.errors import InvalidInput
from services.common.progress import Report, stage_events
from services.common.settings import Settings
from services.common.storage import ArtifactStore
from services.concept.analysis import STEPS, analyse
from services.concept.audio_decode import load_mono
from services.concept.frontend import SR
from services.concept.screenwriter import ScreenwriterConfig, rewrite_storyboard


def validate_request(request: concept_pb2.AnalyzeAudioRequest) -> None:
    check_project_id(request.project_id)
    if not request.audio.key:
        raise InvalidInput("audio.key is required (the uploaded audio artifact)")
    if not 0 <= request.key_moment_count <= MAX_KEY_MOMENTS:
        raise InvalidInput(
            f"key_moment_count must be between 0 (automatic) and {MAX_KEY_MOMENTS}, "
            f"got {request.key_moment_count}"
        )


def run_analysis(
    request: concept_pb2.AnalyzeAudioRequest,
    settings: Settings,
    store: ArtifactStore,
    report: Report,
) -> concept_pb2.AnalyzeAudioResult:
    """Blocking: decode, analyse, let the screenwriter (when configured) write the shots'
    prompts, store concept.json. Runs in a worker thread."""
    writer = ScreenwriterConfig.from_settings(settings)
    total = len(STEPS) + 2 + (writer is not None)
    report(0, total, "decoding audio")
    with store.local_path(request.audio.key) as path:
        samples = load_mono(path, SR, settings.max_audio_seconds)
    lyrics = store.get_bytes(request.lyrics.key) if request.lyrics.key else None

    def step(done: int, _total: int, message: str) -> None:
        report(1 + done, total, message)

    concept = analyse(
        samples,
        SR,
        prompt=request.prompt,
        key_moment_count=request.key_moment_count,
        lyrics=lyrics,
        report=step,
        has_characters=request.has_characters,
        seed=request.seed,
    )
    if writer is not None:
        report(total - 2, total, "the screenwriter is writing the shots' prompts")
        concept.storyboard.CopyFrom(rewrite_storyboard(concept, writer))
    report(total - 1, total, "storing concept.json")
    data = json_format.MessageToJson(concept).encode()
    ref = store.put_bytes(concept_key(request.project_id), data, "application/json")
    report(total, total, "concept ready")
    return concept_pb2.AnalyzeAudioResult(concept=concept, concept_json=ref)


class ConceptServicer(concept_pb2_grpc.ConceptServiceServicer):
    def __init__(self, settings: Settings, store: ArtifactStore) -> None:
        self._settings = settings
        self._store = store

    async def AnalyzeAudio(  # noqa: N802 - gRPC method name
        self, request: concept_pb2.AnalyzeAudioRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[concept_pb2.AnalyzeAudioEvent]:
        validate_request(request)
        work = partial(run_analysis, request, self._settings, self._store)
        async for event in stage_events("concept", work, concept_pb2.AnalyzeAudioEvent):
            yield event
