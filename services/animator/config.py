"""Animator-only settings (env prefix LUMIERE_ANIMATOR_): which shot backends a deployment
offers, how to reach them, and what happens when one fails."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AnimatorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LUMIERE_ANIMATOR_", extra="ignore")

    # Which backends a project may use, and the default, are deployment-wide settings
    # (Settings.shot_backends / shot_backend: the gateway checks them at create); this is how the
    # animator reaches each one.
    # Failed generated shots are drawn procedurally instead (recorded per shot) when true;
    # when false the segment fails with the backend's error.
    fallback: bool = True

    # ComfyUI image-to-video: base URL and the workflow template (a binding JSON; see
    # services/common/comfyui_workflow.py). Empty workflow = the shipped Wan 2.x template.
    comfyui_url: str = ""
    comfyui_workflow: str = ""
    # OpenAI-compatible videos API (OpenAI, LiteLLM, hosted providers).
    videos_url: str = "https://api.openai.com"
    videos_api_key: str = ""
    videos_model: str = "sora-2"
    # Clip lengths the provider accepts (seconds, comma-separated; sora-2: 4, 8, 12).
    videos_seconds: str = "4,8,12"
    videos_poll_s: float = Field(default=5.0, gt=0)

    # Per job: the deadline, retries of transient HTTP failures, and how long a backend that is
    # down is waited for before the shot fails (or falls back).
    timeout_s: float = Field(default=900.0, gt=0)
    retries: int = Field(default=3, ge=1, le=10)
    down_wait_s: float = Field(default=120.0, ge=0)
    # Concurrent jobs per backend from this replica (a GPU runs one; an API has rate limits).
    concurrency: int = Field(default=1, ge=1, le=32)
    negative_prompt: str = "blurry, low quality, text, watermark, deformed, flicker"
