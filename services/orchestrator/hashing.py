"""Input hashes: a stage output is reused only when the inputs that produced it are unchanged."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from google.protobuf.message import Message
from lumiere.v1 import animator_pb2, common_pb2, seeder_pb2


def digest(parts: Iterable[str | bytes]) -> str:
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        # Length-prefix every part so ("ab", "c") and ("a", "bc") differ.
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()[:32]


def message_hash(msg: Message) -> str:
    return digest([msg.SerializeToString(deterministic=True)])


def _ref(ref: common_pb2.ArtifactRef) -> str:
    return f"{ref.key}@{ref.sha256}"


def _keyframe(kf: seeder_pb2.Keyframe) -> str:
    return "|".join([kf.key_moment_id, _ref(kf.image), *(_ref(layer) for layer in kf.layers)])


def _video(v: common_pb2.VideoSettings) -> str:
    return f"{v.width}x{v.height}@{v.fps}q{v.quality}"


def segment_inputs_hash(request: animator_pb2.RenderSegmentRequest, concept_hash: str) -> str:
    """Everything that determines a segment's frames (the concept is hashed once per run)."""
    return digest(
        [
            "segment-v1",
            str(request.segment_index),
            f"{request.start_frame}-{request.end_frame}",
            _keyframe(request.from_keyframe),
            _keyframe(request.to_keyframe),
            concept_hash,
            _video(request.video),
            str(request.seed),
            str(request.transition),
        ]
    )


def compose_inputs_hash(request: animator_pb2.ComposeVideoRequest) -> str:
    return digest(
        [
            "compose-v1",
            *(f"{s.index}:{s.start_frame}-{s.end_frame}:{_ref(s.video)}" for s in request.segments),
            _ref(request.audio),
            _video(request.video),
            str(request.total_frames),
            request.output_key,
        ]
    )
