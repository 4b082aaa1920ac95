"""Settings from `LUMIERE_*` environment variables, with defaults that run on one machine."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LUMIERE_", extra="ignore")

    # Where the local store and the SQLite database live in the embedded default.
    data_dir: Path = Path(".lumiere")

    storage_backend: Literal["local", "s3"] = "local"
    s3_endpoint: str = "127.0.0.1:9000"
    s3_access_key: str = "minioadmin"
    s3_secret_key: str = "minioadmin"
    s3_bucket: str = "lumiere"
    s3_region: str = "us-east-1"
    s3_secure: bool = False

    # Bind host for every service; loopback by default.
    host: str = "127.0.0.1"
    concept_port: int = 50051
    seeder_port: int = 50052
    animator_port: int = 50053
    orchestrator_port: int = 50054
    gateway_port: int = 8000

    # Where clients find the services. Empty = host:port above.
    concept_addr: str = ""
    seeder_addr: str = ""
    # Comma-separated list of animator replicas, or one DNS name (dns:///animator:50053).
    animator_addrs: str = ""
    orchestrator_addr: str = ""

    # SQLAlchemy URL; empty = SQLite file in data_dir.
    database_url: str = ""

    max_upload_mb: int = 100
    max_audio_seconds: float = 20 * 60
    # Per-call gRPC deadlines (seconds) for the stage calls.
    concept_deadline_s: float = 300.0
    seeder_deadline_s: float = 300.0
    segment_deadline_s: float = 600.0
    compose_deadline_s: float = 600.0
    # Concurrent segment renders in flight per animator replica.
    animator_inflight_per_replica: int = 2
    # Worker threads an animator uses for its own CPU work.
    animator_workers: int = Field(default=2, ge=1)
    # Shot backends a project may choose at create (comma-separated allow-list; "procedural"
    # is always allowed) and the one it gets when it names none. Read by the gateway (to
    # refuse others with a 400) and the animator (services/animator/config.py: how to reach
    # each backend).
    shot_backends: str = "procedural"
    shot_backend: str = "procedural"
    log_level: str = "INFO"

    # The concept's optional screenwriter (services/concept/screenwriter.py): an OpenAI-compatible
    # chat-completions endpoint that rewrites the shots' prompts. The base URL ends before
    # /chat/completions ("http://127.0.0.1:11434/v1" for Ollama); empty = off (the director's
    # prompts). The API key is sent as a Bearer token when set; it is a secret (never printed).
    screenwriter_base_url: str = ""
    screenwriter_model: str = ""
    screenwriter_api_key: SecretStr = SecretStr("")
    # Per request; a failed or late answer keeps the director's prompts.
    screenwriter_timeout_s: float = Field(default=30.0, gt=0)
    # Shots per request; longer storyboards are asked for in batches.
    screenwriter_max_shots: int = Field(default=40, ge=1)

    def addr(self, port: int, override: str) -> str:
        return override or f"{self.host}:{port}"

    @property
    def concept_target(self) -> str:
        return self.addr(self.concept_port, self.concept_addr)

    @property
    def seeder_target(self) -> str:
        return self.addr(self.seeder_port, self.seeder_addr)

    @property
    def animator_targets(self) -> list[str]:
        if self.animator_addrs:
            return [a.strip() for a in self.animator_addrs.split(",") if a.strip()]
        return [f"{self.host}:{self.animator_port}"]

    @property
    def orchestrator_target(self) -> str:
        return self.addr(self.orchestrator_port, self.orchestrator_addr)

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'lumiere.db').resolve()}"

    def allowed_shot_backends(self) -> list[str]:
        names = {n.strip() for n in self.shot_backends.split(",") if n.strip()}
        return sorted({"procedural", self.shot_backend, *names})


@lru_cache
def get_settings() -> Settings:
    return Settings()
