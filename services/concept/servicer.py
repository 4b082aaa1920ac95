"""ConceptService: a thin adapter from the gRPC call to the pure analysis functions."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import grpc
from google.protobuf import json_format
from lumiere.v1 import common_pb2, concept_pb2, concept_pb2_grpc

from services.common.errors import InvalidInput
from services.common.grpc_server import grpc_errors
from services.common.progress import Finished, Report, run_with_progress
from services.common.settings import Settings
from services.common.storage import ArtifactStore
from services.concept.analysis import STEPS, analyse
from services.concept.audio_decode import load_mono
from services.concept.frontend import SR

_PROJECT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def concept_key(project_id: str) -> str:
    return f"outputs/{project_id}/concept.json"


def validate_request(request: concept_pb2.AnalyzeAudioRequest) -> None:
    if not request.project_id:
        raise InvalidInput("project_id is required")
    if not _PROJECT_ID.match(request.project_id) or ".." in request.project_id:
        raise InvalidInput(
            f"project_id {request.project_id!r} is invalid (letters, digits, '_', '-', '.')"
        )
    if not request.audio.key:
        raise InvalidInput("audio.key is required (the uploaded audio artifact)")
    if request.key_moment_count < 0 or request.key_moment_count > 200:
        raise InvalidInput("key_moment_count must be between 0 (automatic) and 200")


def run_analysis(
    request: concept_pb2.AnalyzeAudioRequest,
    settings: Settings,
    store: ArtifactStore,
    report: Report,
) -> tuple[concept_pb2.Concept, common_pb2.ArtifactRef]:
    """Blocking: decode, analyse, store concept.json. Runs in a worker thread."""
    total = len(STEPS) + 2
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
    report(total - 1, total, "storing concept.json")
    data = json_format.MessageToJson(concept).encode()
    ref = store.put_bytes(concept_key(request.project_id), data, "application/json")
    report(total, total, "concept ready")
    return concept, ref


class ConceptServicer(concept_pb2_grpc.ConceptServiceServicer):
    def __init__(self, settings: Settings, store: ArtifactStore) -> None:
        self._settings = settings
        self._store = store

    @grpc_errors
    async def AnalyzeAudio(  # noqa: N802 - gRPC method name
        self, request: concept_pb2.AnalyzeAudioRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[concept_pb2.AnalyzeAudioEvent]:
        validate_request(request)

        def work(report: Report) -> tuple[concept_pb2.Concept, common_pb2.ArtifactRef]:
            return run_analysis(request, self._settings, self._store, report)

        async for event in run_with_progress("concept", work):
            if isinstance(event, Finished):
                concept, ref = event.value
                yield concept_pb2.AnalyzeAudioEvent(
                    result=concept_pb2.AnalyzeAudioResult(concept=concept, concept_json=ref)
                )
            else:
                yield concept_pb2.AnalyzeAudioEvent(progress=event)
