"""Image backends behind one interface, chosen by `SeederSettings.backend`."""

from __future__ import annotations

from services.seeder.backends.base import GeneratedImage, ImageBackend, ImageRequest
from services.seeder.backends.http import BackendFailed, BackendUnavailable
from services.seeder.backends.procedural import ProceduralBackend
from services.seeder.config import SeederSettings

__all__ = [
    "BackendFailed",
    "BackendUnavailable",
    "GeneratedImage",
    "ImageBackend",
    "ImageRequest",
    "ProceduralBackend",
    "make_backend",
]


def make_backend(cfg: SeederSettings) -> ImageBackend:
    if cfg.backend == "automatic1111":
        from services.seeder.backends.automatic1111 import Automatic1111Backend

        return Automatic1111Backend(cfg)
    if cfg.backend == "comfyui":
        from services.seeder.backends.comfyui import ComfyUIBackend

        return ComfyUIBackend(cfg)
    if cfg.backend == "openai":
        from services.seeder.backends.openai_images import OpenAIImagesBackend

        return OpenAIImagesBackend(cfg)
    return ProceduralBackend(layers=cfg.layers)
