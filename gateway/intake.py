"""A create request's files: inspected (is it what it claims?), then stored under the project.

Inspection runs before anything is written, so a rejected upload leaves nothing in the store;
storing uses the contract's key layout (`uploads/{project}/audio.<ext>`, `character_N.<ext>`,
`lyrics.<ext>`), the keys the stages read.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lumiere.v1 import common_pb2

from gateway import media
from gateway.forms import CreateForm, UploadLimits
from gateway.uploads import RequestTooLarge
from services.common import contract
from services.common.audio_probe import AudioInfo
from services.common.storage import ArtifactStore, UploadTooLarge


@dataclass(frozen=True)
class Inspected:
    audio: AudioInfo
    images: list[media.ImageInfo]
    # (extension, content type) of the lyrics file, when there is one.
    lyrics: tuple[str, str] | None


@dataclass(frozen=True)
class Stored:
    audio: common_pb2.ArtifactRef
    images: list[common_pb2.ArtifactRef]
    lyrics: common_pb2.ArtifactRef | None


async def inspect(form: CreateForm, max_audio_seconds: float, max_image_pixels: int) -> Inspected:
    audio = await asyncio.to_thread(media.probe_audio, form.audio.path, max_audio_seconds)
    images = []
    for i, part in enumerate(form.images):
        label = f"character image {i + 1} ({part.filename!r})"
        images.append(
            await asyncio.to_thread(media.check_image, part.path, label, max_image_pixels)
        )
    lyrics = None
    if form.lyrics is not None:
        lyrics = await asyncio.to_thread(media.check_lyrics, form.lyrics.path, form.lyrics.filename)
    return Inspected(audio, images, lyrics)


async def store_files(
    store: ArtifactStore,
    project_id: str,
    form: CreateForm,
    inspected: Inspected,
    limits: UploadLimits,
) -> Stored:
    ext = media.audio_extension(form.audio.filename, inspected.audio.container)
    audio = await _store_file(
        store,
        contract.audio_key(project_id, ext),
        form.audio.path,
        media.AUDIO_EXTENSIONS.get(ext, "application/octet-stream"),
        limits.audio_bytes,
    )
    images = [
        await _store_file(
            store,
            contract.character_key(project_id, i, info.extension),
            part.path,
            info.content_type,
            limits.image_bytes,
        )
        for i, (part, info) in enumerate(zip(form.images, inspected.images, strict=True))
    ]
    lyrics = None
    if form.lyrics is not None and inspected.lyrics is not None:
        ext, content_type = inspected.lyrics
        lyrics = await _store_file(
            store,
            contract.lyrics_key(project_id, ext),
            form.lyrics.path,
            content_type,
            limits.lyrics_bytes,
        )
    return Stored(audio, images, lyrics)


def audio_json(form: CreateForm, info: AudioInfo, ref: common_pb2.ArtifactRef) -> dict[str, Any]:
    """The `audio` member of the create answer: what the gateway found in the song."""
    return {
        "filename": Path(form.audio.filename).name,
        "duration_seconds": round(info.duration, 3),
        "sample_rate": info.sample_rate,
        "channels": info.channels,
        "codec": info.codec,
        "size_bytes": ref.size_bytes,
    }


async def _store_file(
    store: ArtifactStore, key: str, path: Path, content_type: str, max_bytes: int
) -> common_pb2.ArtifactRef:
    def put() -> common_pb2.ArtifactRef:
        with path.open("rb") as fh:
            return store.put_stream(key, fh, content_type, max_bytes=max_bytes)

    try:
        return await asyncio.to_thread(put)
    except UploadTooLarge:
        raise RequestTooLarge(f"{key.rsplit('/', 1)[-1]} is over its size limit") from None
