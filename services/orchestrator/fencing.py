"""Writes by the lease holder only: the condition every write of a run is fenced by."""

from __future__ import annotations

from typing import Any

from services.orchestrator.schema import projects


class LeaseLost(Exception):
    """This replica no longer holds the project's lease (cancelled, deleted or taken over)."""


def lease_held(project_id: str, owner: str) -> Any:
    """SQL: the project is queued or running, and `owner` holds its lease."""
    return (
        (projects.c.id == project_id)
        & (projects.c.lease_owner == owner)
        & projects.c.run_requested_at.is_not(None)
    )
