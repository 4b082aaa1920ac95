"""The built-in engine: procedural drawing, deterministic and download-free."""

from __future__ import annotations

import dataclasses

from services.seeder.backends.base import GeneratedImage, ImageRequest
from services.seeder.scene import SceneSpec, render_scene

# Bump when the drawing changes, so cached keyframes from an older engine are not reused.
ENGINE_VERSION = "procedural-2"


class ProceduralBackend:
    name = "procedural"
    accepts_init_image = False

    def __init__(self, layers: bool = True) -> None:
        self.layers = layers

    def identity(self) -> str:
        return f"{ENGINE_VERSION}:layers={int(self.layers)}"

    def generate(self, request: ImageRequest) -> GeneratedImage:
        spec = request.scene or SceneSpec(
            prompt=request.prompt, width=request.width, height=request.height, seed=request.seed
        )
        if spec.export_layers != self.layers:
            spec = dataclasses.replace(spec, export_layers=self.layers)
        out = render_scene(spec)
        return GeneratedImage(
            image=out.image,
            palette=out.palette.as_hex(),
            layers=out.layers if self.layers else [],
            has_character_layer=bool(spec.characters) and self.layers,
            characters_included=True,
            info={"family": out.family, "effects": ",".join(out.effects)},
        )
