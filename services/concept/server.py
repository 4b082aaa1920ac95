"""Concept service entry point: `python -m services.concept`."""

from __future__ import annotations

import asyncio
import logging
import time

import grpc
import numpy as np
from lumiere.v1 import concept_pb2, concept_pb2_grpc

from services.common.grpc_server import serve_stage
from services.common.settings import Settings
from services.common.storage import ArtifactStore
from services.concept.analysis import SR, analyse
from services.concept.servicer import ConceptServicer

SERVICE_NAME = concept_pb2.DESCRIPTOR.services_by_name["ConceptService"].full_name


def add_to_server(server: grpc.aio.Server, settings: Settings, store: ArtifactStore) -> list[str]:
    concept_pb2_grpc.add_ConceptServiceServicer_to_server(ConceptServicer(settings, store), server)
    return [SERVICE_NAME]


def warm_up() -> float:
    """Analyse 8 s of clicks once so numba compiles librosa's kernels before the first request.

    Cold, the first analysis pays ~15 s of JIT compilation; the service reports SERVING only
    after this, so a caller never waits on it.
    """
    started = time.perf_counter()
    t = np.arange(8 * SR) / SR
    clicks = (np.sin(2 * np.pi * 880 * t) * np.exp(-((t % 0.5) / 0.02))).astype(np.float32)
    analyse(clicks, SR, prompt="warm-up")
    return time.perf_counter() - started


async def _warm_up(log: logging.Logger) -> None:
    seconds = await asyncio.to_thread(warm_up)
    log.info("analysis warmed up in %.1f s", seconds)


async def main() -> None:
    await serve_stage("concept", add_to_server, lambda s: s.concept_port, prepare=_warm_up)
