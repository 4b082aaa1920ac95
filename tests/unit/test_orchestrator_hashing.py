"""Reuse keys cover everything that changes an output, the renderer's version included."""

from __future__ import annotations

import pytest
from lumiere.v1 import animator_pb2, common_pb2, seeder_pb2

from services.common import contract
from services.orchestrator import hashing


def _request(**changes: object) -> animator_pb2.RenderSegmentRequest:
    keyframe = seeder_pb2.Keyframe(
        key_moment_id="km0",
        image=common_pb2.ArtifactRef(key="outputs/p/seeds/seed_0_ab.png", sha256="ab", uri="a"),
        palette=["#102030"],
    )
    request = animator_pb2.RenderSegmentRequest(
        project_id="p",
        segment_index=0,
        start_frame=0,
        end_frame=24,
        from_keyframe=keyframe,
        to_keyframe=keyframe,
        video=common_pb2.VideoSettings(width=320, height=180, fps=12),
        seed=1,
    )
    for name, value in changes.items():
        setattr(request, name, value)
    return request


def test_segment_key_changes_with_the_renderer_version(monkeypatch: pytest.MonkeyPatch) -> None:
    before = hashing.segment_inputs_hash(_request(), "concept")
    monkeypatch.setattr(contract, "RENDER_VERSION", contract.RENDER_VERSION + "-next")
    assert hashing.segment_inputs_hash(_request(), "concept") != before


def test_compose_key_changes_with_the_renderer_version(monkeypatch: pytest.MonkeyPatch) -> None:
    request = animator_pb2.ComposeVideoRequest(project_id="p", total_frames=24)
    before = hashing.compose_inputs_hash(request)
    monkeypatch.setattr(contract, "RENDER_VERSION", contract.RENDER_VERSION + "-next")
    assert hashing.compose_inputs_hash(request) != before


def test_segment_key_covers_every_request_field_and_the_concept() -> None:
    base = hashing.segment_inputs_hash(_request(), "concept")
    assert hashing.segment_inputs_hash(_request(), "other concept") != base
    assert hashing.segment_inputs_hash(_request(seed=2), "concept") != base
    assert hashing.segment_inputs_hash(_request(transition=1), "concept") != base
    recoloured = _request()
    recoloured.to_keyframe.palette[0] = "#ffffff"
    assert hashing.segment_inputs_hash(recoloured, "concept") != base


def test_segment_key_ignores_where_an_artifact_is_read_from() -> None:
    moved = _request()
    moved.from_keyframe.image.uri = "s3://elsewhere/outputs/p/seeds/seed_0_ab.png"
    assert hashing.segment_inputs_hash(moved, "concept") == hashing.segment_inputs_hash(
        _request(), "concept"
    )
