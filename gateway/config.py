"""Gateway-only settings (`LUMIERE_GATEWAY_*`); the shared ones live in services.common.settings."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common import contract


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LUMIERE_GATEWAY_", extra="ignore")

    # Comma-separated API keys. Empty = authentication off (the embedded default).
    api_keys: str = ""
    # Comma-separated allowed CORS origins ("*" allowed). Empty = no CORS headers.
    cors_origins: str = ""
    # Per API key (or per client address when auth is off): sustained requests per minute and
    # the burst allowed above it. 0 = no rate limiting.
    rate_limit_per_minute: float = Field(default=600.0, ge=0)
    rate_limit_burst: int = Field(default=60, ge=1)
    # Upload limits; the audio limit is the shared `max_upload_mb`, the number of character
    # images the contract's MAX_CHARACTER_IMAGES (what the seeder can compose).
    # Character images: the seeder's limits (contract.py) unless set lower here.
    max_image_mb: int = Field(default=contract.MAX_CHARACTER_BYTES >> 20, ge=1)
    max_image_pixels: int = Field(
        default=contract.MAX_CHARACTER_PIXELS, ge=1, le=contract.MAX_CHARACTER_PIXELS
    )
    max_lyrics_kb: int = Field(default=256, ge=1)
    # JSON (and any other non-multipart) request bodies: regenerate, storyboard edits.
    max_json_kb: int = Field(default=1024, ge=1)
    # Slow clients (gateway/guard.py, gateway/serving.py): a body must average this rate after
    # the grace period and never stall longer than it; request headers must be complete within
    # `header_timeout_s` of connecting; idle keep-alive connections close after
    # `keep_alive_timeout_s`; beyond `max_connections` open at once new ones get 503.
    min_body_bytes_per_s: float = Field(default=16_384.0, gt=0)
    body_grace_s: float = Field(default=10.0, gt=0)
    header_timeout_s: float = Field(default=10.0, gt=0)
    keep_alive_timeout_s: int = Field(default=5, ge=1)
    max_connections: int = Field(default=1000, ge=1)
    # Failed API-key checks per client address: sustained per minute and burst; past them the
    # answer is 429 instead of 401, so keys cannot be guessed at line rate.
    auth_failures_per_minute: float = Field(default=30.0, gt=0)
    auth_failure_burst: int = Field(default=10, ge=1)
    # Deadline for unary calls to the orchestrator, seconds.
    rpc_timeout_s: float = Field(default=10.0, gt=0)
    # /health also probes concept, seeder and animators (not only the orchestrator).
    health_check_stages: bool = True
    # Deadline for each health probe of a service behind the gateway, seconds.
    health_timeout_s: float = Field(default=1.0, gt=0)
    # SSE keep-alive comment interval, seconds (proxies drop idle connections).
    sse_keepalive_s: float = Field(default=15.0, gt=0)
    # 0: /metrics on the API port, behind the API key when keys are on. A port: /metrics only
    # there (open: a port for the scraper inside the cluster, not exposed), counts refreshed
    # every `metrics_cache_s`.
    metrics_port: int = Field(default=0, ge=0, le=65535)
    # How long /metrics may reuse its project counts, seconds.
    metrics_cache_s: float = Field(default=5.0, ge=0)

    @property
    def api_key_list(self) -> list[str]:
        return _split(self.api_keys)

    @property
    def cors_origin_list(self) -> list[str]:
        return _split(self.cors_origins)
