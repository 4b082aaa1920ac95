"""The one interface every image backend implements: a prompt and its settings in, pixels out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from services.seeder.scene import SceneSpec


@dataclass(frozen=True)
class ImageRequest:
    prompt: str
    negative_prompt: str
    width: int
    height: int
    seed: int
    # PNG bytes of a character image to start from (img2img), when the backend supports it.
    init_image: bytes | None = None
    # Music and composition hints; the procedural engine uses them, HTTP backends ignore them.
    scene: SceneSpec | None = None


@dataclass
class GeneratedImage:
    image: np.ndarray  # HxWx3 uint8 RGB at exactly the requested size
    palette: list[str]  # "#rrggbb"
    # RGBA uint8 parallax layers (background, mid, foreground[, character]); may be empty.
    layers: list[np.ndarray] = field(default_factory=list)
    has_character_layer: bool = False
    # True when the characters are already in the picture (procedural, img2img).
    characters_included: bool = False
    info: dict[str, str] = field(default_factory=dict)


class ImageBackend(Protocol):
    name: str
    # True when the backend can start from an init image (img2img).
    accepts_init_image: bool

    def identity(self) -> str:
        """Everything about the backend that changes its output (goes into the cache key)."""
        ...

    def generate(self, request: ImageRequest) -> GeneratedImage: ...
