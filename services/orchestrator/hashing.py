"""Reuse keys: a stage output is reused only when everything that produced it is unchanged.

A key covers the whole request as sent (so a field added to a request later is covered without
touching this module), the artifacts it refers to by content (key and sha256; the `uri` is only
where they are read from) and the version of the renderer that makes the output
(`contract.RENDER_VERSION`), so a renderer change re-renders instead of mixing two versions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from google.protobuf.message import Message
from lumiere.v1 import animator_pb2, common_pb2

from services.common import contract


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


def _drop_locations(msg: Message) -> None:
    """Clear every ArtifactRef.uri inside `msg`: the same artifact may be read from elsewhere."""
    if isinstance(msg, common_pb2.ArtifactRef):
        msg.ClearField("uri")
        return
    for field, value in msg.ListFields():
        if field.message_type is None or field.message_type.GetOptions().map_entry:
            continue
        for item in [value] if isinstance(value, Message) else value:
            _drop_locations(item)


def _content(msg: Message) -> bytes:
    bare = type(msg)()
    bare.CopyFrom(msg)
    _drop_locations(bare)
    return bare.SerializeToString(deterministic=True)


def segment_inputs_hash(request: animator_pb2.RenderSegmentRequest, concept_hash: str) -> str:
    """Everything that determines a segment's frames (the concept is hashed once per run)."""
    bare = animator_pb2.RenderSegmentRequest()
    bare.CopyFrom(request)
    bare.ClearField("concept")
    return digest(["segment-v2", contract.RENDER_VERSION, concept_hash, _content(bare)])


def compose_inputs_hash(request: animator_pb2.ComposeVideoRequest) -> str:
    return digest(["compose-v2", contract.RENDER_VERSION, _content(request)])
