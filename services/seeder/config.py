"""Seeder-only settings (env prefix LUMIERE_SEEDER_): which image backend, and its limits."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SeederSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LUMIERE_SEEDER_", extra="ignore")

    backend: Literal["procedural", "automatic1111", "openai", "comfyui"] = "procedural"
    # Base URL of the HTTP backend, e.g. http://127.0.0.1:7860 (A1111), http://127.0.0.1:8188
    # (ComfyUI) or https://api.openai.com.
    base_url: str = ""
    api_key: str = ""
    # OpenAI-compatible model name; Automatic1111 uses whatever checkpoint is loaded.
    model: str = "gpt-image-1"
    negative_prompt: str = "blurry, low quality, text, watermark, deformed"
    steps: int = Field(default=25, ge=1, le=150)
    cfg_scale: float = 7.0
    # img2img strength when a character image is the init image (A1111).
    denoising_strength: float = Field(default=0.55, ge=0.0, le=1.0)
    timeout_s: float = Field(default=120.0, gt=0)
    retries: int = Field(default=3, ge=1, le=10)
    # A backend that is down (connection refused, 5xx) is retried for at least this long before
    # the keyframe fails: a restarting GPU box makes the project wait, not fail in seconds.
    down_wait_s: float = Field(default=60.0, ge=0.0)
    # ComfyUI: the workflow templates (a binding JSON naming an API-format workflow; see
    # services/common/comfyui_workflow.py). Empty = the shipped ones under
    # backends/comfyui_templates/. The character workflow is used when a character image is given.
    comfyui_workflow: str = ""
    comfyui_character_workflow: str = ""
    # Concurrent ComfyUI jobs from this seeder (a GPU runs one at a time; more only queue there).
    comfyui_concurrency: int = Field(default=1, ge=1, le=16)
    # Parallel keyframes per call: HTTP requests in threads; procedural storyboard shots in
    # that many worker processes (drawing a shot holds the GIL most of the time: threads gave
    # no speed-up, processes did; 1 = draw in the calling thread).
    workers: int = Field(default=2, ge=1, le=16)
    # Storyboard shots with the subject also get it in this many other poses, as extra layers
    # ("character_pose1".., same place and size) an animator switches on beats.
    pose_layers: int = Field(default=2, ge=0, le=3)
    # Also export background/mid/foreground/character RGBA layers (procedural backend).
    layers: bool = True
    # zlib level for PNGs: 1 is ~3x faster than the default 6 for ~10% larger files.
    png_compression: int = Field(default=1, ge=0, le=9)
    # Character image limits: file size, pixels (decompression-bomb guard) and side length.
    # How many images, and the keyframe size range, are the contract's (services.common.contract)
    # so the seeder accepts every project the orchestrator accepts.
    max_character_bytes: int = 20 * 1024 * 1024
    max_character_pixels: int = 4096 * 4096
    max_character_side: int = 8192
