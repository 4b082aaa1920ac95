"""What every keyframe path reads from a GenerateKeyframes request the same way: the size, the
per-keyframe seed, the character images, and the hash that addresses an output."""

from __future__ import annotations

import hashlib
import json

from google.protobuf import json_format
from lumiere.v1 import common_pb2, seeder_pb2

from services.common.contract import (
    DEFAULT_HEIGHT,
    DEFAULT_WIDTH,
    MAX_CHARACTER_IMAGES,
    MAX_HEIGHT,
    MAX_WIDTH,
    MIN_SIDE,
)
from services.common.errors import InvalidInput, NotFound
from services.common.storage import ArtifactStore
from services.seeder.characters import Character, CharacterLimits, load_character
from services.seeder.config import SeederSettings


def derive_seed(base: int, index: int) -> int:
    """Per-keyframe seed: stable, well mixed, and within the 31-bit range HTTP backends accept."""
    digest = hashlib.sha256(f"lumiere-seed:{base}:{index}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def resolve_size(request: seeder_pb2.GenerateKeyframesRequest) -> tuple[int, int]:
    w = request.width or DEFAULT_WIDTH
    h = request.height or DEFAULT_HEIGHT
    if request.width and not request.height:
        h = max(MIN_SIDE, round(w * DEFAULT_HEIGHT / DEFAULT_WIDTH))
    if request.height and not request.width:
        w = max(MIN_SIDE, round(h * DEFAULT_WIDTH / DEFAULT_HEIGHT))
    if not (MIN_SIDE <= w <= MAX_WIDTH and MIN_SIDE <= h <= MAX_HEIGHT):
        raise InvalidInput(
            f"keyframe size {w}x{h} is out of range: "
            f"width {MIN_SIDE}..{MAX_WIDTH} px, height {MIN_SIDE}..{MAX_HEIGHT} px"
        )
    return w, h


def input_hash(obj: object) -> str:
    return hashlib.sha256(
        json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


def load_characters(
    refs: list[common_pb2.ArtifactRef], store: ArtifactStore, cfg: SeederSettings
) -> list[Character]:
    if len(refs) > MAX_CHARACTER_IMAGES:
        raise InvalidInput(f"{len(refs)} character images given; at most {MAX_CHARACTER_IMAGES}")
    limits = CharacterLimits(
        cfg.max_character_bytes, cfg.max_character_pixels, cfg.max_character_side
    )
    chars = []
    for i, ref in enumerate(refs):
        if not ref.key:
            raise InvalidInput(f"character_images[{i}] has no key")
        try:
            size = store.stat(ref.key)
        except NotFound as exc:
            raise InvalidInput(f"character image {ref.key!r} is not in the store") from exc
        if size > cfg.max_character_bytes:
            raise InvalidInput(
                f"character image {ref.key!r} is {size / 2**20:.1f} MiB, "
                f"more than the {cfg.max_character_bytes / 2**20:.0f} MiB limit"
            )
        chars.append(load_character(store.get_bytes(ref.key), ref.key, limits))
    return chars


class StoredImageKeys:
    """The keys stored next to a keyframe's PNG (`key`): one PNG per layer and the metadata JSON
    (both keyframe paths, key moments and storyboard shots, lay them out the same way)."""

    key: str

    def layer_key(self, name: str) -> str:
        return self.key.removesuffix(".png") + f"_{name}.png"

    @property
    def meta_key(self) -> str:
        return self.key.removesuffix(".png") + ".json"

    def stored(self, store: ArtifactStore) -> seeder_pb2.Keyframe | None:
        """The keyframe stored under these keys: None unless its metadata reads and its image
        and every layer are still there."""
        if not store.exists(self.meta_key):
            return None
        try:
            meta = json.loads(store.get_bytes(self.meta_key))
            kf = json_format.ParseDict(meta["keyframe"], seeder_pb2.Keyframe())
        except (ValueError, KeyError, json_format.ParseError):
            return None
        if not all(store.exists(r.key) for r in (kf.image, *kf.layers)):
            return None
        return kf
