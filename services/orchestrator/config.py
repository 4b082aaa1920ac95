"""Orchestrator-only knobs (env `LUMIERE_ORCHESTRATOR_*`), next to the shared `Settings`."""

from __future__ import annotations

import socket

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class OrchestratorConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LUMIERE_ORCHESTRATOR_", extra="ignore")

    # Identity of this replica in leases. Stable across restarts of the same replica so that a
    # restarted orchestrator takes its own projects back at once instead of waiting for expiry.
    id: str = ""
    # A replica that stops renewing its lease for this long loses its projects to the others.
    lease_s: float = Field(default=15.0, gt=0)
    # How often idle replicas look for queued or orphaned projects.
    poll_s: float = Field(default=0.5, gt=0)
    # Projects processed at once across ALL replicas (counted from live leases in the database)...
    max_active_projects: int = Field(default=4, ge=1)
    # ...and by this replica.
    replica_max_projects: int = Field(default=4, ge=1)
    # Attempts per stage call / per segment on UNAVAILABLE, DEADLINE_EXCEEDED and friends.
    max_attempts: int = Field(default=4, ge=1)
    retry_backoff_s: float = Field(default=0.5, ge=0)
    retry_backoff_max_s: float = Field(default=5.0, ge=0)
    # A stage that cannot be reached (restart, rolling update, slow pod start) is waited for
    # this long, retrying with the backoff above, before its projects fail; they keep their
    # state meanwhile and resume when it is back.
    stage_outage_s: float = Field(default=300.0, ge=0)
    # After a delete, the project's files are removed again after each of these pauses (s):
    # a stage call of the cancelled run may still store what it had in hand.
    delete_sweeps_s: tuple[float, ...] = (1.0, 3.0, 10.0, 30.0)
    # Persist progress at most this often per project (state changes are always persisted).
    progress_persist_s: float = Field(default=0.5, ge=0)
    # Preview renders: width (height follows the aspect ratio) and frame rate.
    preview_width: int = Field(default=480, ge=16)
    preview_fps: int = Field(default=12, ge=1)
    max_prompt_chars: int = Field(default=2000, ge=1)

    def replica_id(self, port: int) -> str:
        return self.id or f"{socket.gethostname()}:{port}"
