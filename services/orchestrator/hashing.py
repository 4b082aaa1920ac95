"""Reuse keys: a stage output is reused only when everything that produced it is unchanged.

A key covers the whole request as sent (so a field added to a request later is covered without
touching this module), the artifacts it refers to by content (key and sha256; the `uri` is only
where they are read from) and the version of the renderer that makes the output
(`contract.RENDER_VERSION`), so a renderer change re-renders instead of mixing two versions.

One exception to "the whole request": the storyboard inside the concept. A segment shows only
its own shots, so its key covers those (`segment_shots_part`) and the concept without the shot
list (`concept_hash`); editing one shot then re-renders the segments that show it, not all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from google.protobuf.message import Message
from lumiere.v1 import animator_pb2, common_pb2, concept_pb2, storyboard_pb2

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


def concept_hash(concept: concept_pb2.Concept) -> str:
    """The concept without its shot list and the plan's provenance (source, note): what every
    segment depends on. Each segment adds its own shots (`segment_shots_part`)."""
    bare = concept_pb2.Concept()
    bare.CopyFrom(concept)
    for name in ("shots", "source", "note"):
        bare.storyboard.ClearField(name)
    return message_hash(bare)


def segment_shots_part(
    shown: list[storyboard_pb2.Shot], cut_into: storyboard_pb2.Shot | None, blends: bool
) -> bytes:
    """The shots a segment renders: those it shows in full (their place in the list aside),
    and the next one only by its cut (time and entry) unless the segment blends into it."""
    parts = []
    for shot in shown:
        bare = storyboard_pb2.Shot()
        bare.CopyFrom(shot)
        bare.ClearField("index")
        parts.append(bare.SerializeToString(deterministic=True))
    if cut_into is not None:
        bare = storyboard_pb2.Shot()
        if blends:
            bare.CopyFrom(cut_into)
            bare.ClearField("index")
        else:
            bare.id, bare.start_time, bare.entry = cut_into.id, cut_into.start_time, cut_into.entry
        parts.append(b"next:" + bare.SerializeToString(deterministic=True))
    return digest(parts).encode()


def segment_inputs_hash(
    request: animator_pb2.RenderSegmentRequest, concept_hash: str, shots_part: bytes = b""
) -> str:
    """Everything that determines a segment's frames: the request without the concept, the
    concept's hash (`concept_hash`, once per run) and the segment's shots."""
    bare = animator_pb2.RenderSegmentRequest()
    bare.CopyFrom(request)
    bare.ClearField("concept")
    return digest(["segment-v3", contract.RENDER_VERSION, concept_hash, shots_part, _content(bare)])


def compose_inputs_hash(request: animator_pb2.ComposeVideoRequest) -> str:
    return digest(["compose-v2", contract.RENDER_VERSION, _content(request)])
