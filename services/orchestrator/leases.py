"""Leases: which orchestrator replica processes a queued project.

Concurrency between orchestrator replicas: a project is processed only by the replica holding its
lease (`lease_owner`, `lease_expires`). Claims are compare-and-set UPDATEs (atomic in both
databases); on PostgreSQL candidates are picked with SELECT … FOR UPDATE SKIP LOCKED under a
transaction-scoped advisory lock so the global concurrency limit is counted consistently. Every
write a runner makes is fenced by its lease: a replica that lost its lease cannot overwrite state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from services.orchestrator.schema import projects


def _appended(owner: str) -> Any:
    """processed_by + "," + owner (just owner when empty), in SQL."""
    return sa.case(
        (sa.func.coalesce(projects.c.processed_by, "") == "", owner),
        else_=projects.c.processed_by + "," + owner,
    )


class LeaseDB:
    """Synchronous, like ProjectDB (which holds one as `.leases`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_postgres = engine.dialect.name == "postgresql"

    def claim(
        self, owner: str, now: float, lease_s: float, limit: int, global_max: int
    ) -> list[str]:
        """Take up to `limit` queued projects whose lease is free, expired or already ours."""
        claimed: list[str] = []
        with self.engine.begin() as conn:
            if self.is_postgres:
                # Serialise claims between replicas so the global limit is counted consistently.
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(7215002)"))
            live = conn.execute(
                sa.select(sa.func.count())
                .select_from(projects)
                .where(
                    projects.c.run_requested_at.is_not(None),
                    projects.c.lease_owner.is_not(None),
                    projects.c.lease_owner != owner,
                    projects.c.lease_expires >= now,
                )
            ).scalar_one()
            mine = conn.execute(
                sa.select(sa.func.count())
                .select_from(projects)
                .where(projects.c.lease_owner == owner, projects.c.lease_expires >= now)
                .where(projects.c.run_requested_at.is_not(None))
            ).scalar_one()
            room = min(limit, global_max - live - mine)
            if room <= 0:
                return []
            free = sa.or_(
                projects.c.lease_owner.is_(None),
                projects.c.lease_expires < now,
            )
            candidates = conn.execute(
                sa.select(projects.c.id)
                .where(projects.c.run_requested_at.is_not(None), free)
                .order_by(projects.c.run_requested_at, projects.c.id)
                .limit(room)
                .with_for_update(skip_locked=True)
            ).all()
            for (pid,) in candidates:
                result = conn.execute(
                    projects.update()
                    .where(projects.c.id == pid, projects.c.run_requested_at.is_not(None), free)
                    .values(
                        lease_owner=owner,
                        lease_expires=now + lease_s,
                        claims=projects.c.claims + 1,
                        processed_by=_appended(owner),
                    )
                )
                if result.rowcount == 1:
                    claimed.append(pid)
        return claimed

    def reclaim_own(self, owner: str, now: float, lease_s: float) -> list[str]:
        """After a restart: our own unexpired leases (we are the same replica id) are ours again."""
        with self.engine.begin() as conn:
            rows = conn.execute(
                sa.select(projects.c.id).where(
                    projects.c.lease_owner == owner, projects.c.run_requested_at.is_not(None)
                )
            ).all()
            ids = [r[0] for r in rows]
            if ids:
                conn.execute(
                    projects.update()
                    .where(projects.c.id.in_(ids))
                    .values(
                        lease_expires=now + lease_s,
                        claims=projects.c.claims + 1,
                        processed_by=_appended(owner),
                    )
                )
        return ids

    def renew(self, owner: str, project_ids: Sequence[str], now: float, lease_s: float) -> set[str]:
        """Extend our leases; returns the ids we still hold."""
        if not project_ids:
            return set()
        with self.engine.begin() as conn:
            conn.execute(
                projects.update()
                .where(projects.c.id.in_(list(project_ids)), projects.c.lease_owner == owner)
                .where(projects.c.run_requested_at.is_not(None))
                .values(lease_expires=now + lease_s)
            )
            rows = conn.execute(
                sa.select(projects.c.id).where(
                    projects.c.id.in_(list(project_ids)),
                    projects.c.lease_owner == owner,
                    projects.c.run_requested_at.is_not(None),
                )
            ).all()
        return {r[0] for r in rows}

    def release(self, owner: str, project_id: str) -> None:
        """Give a lease back without finishing (graceful shutdown): another replica resumes."""
        with self.engine.begin() as conn:
            conn.execute(
                projects.update()
                .where(projects.c.id == project_id, projects.c.lease_owner == owner)
                .values(lease_owner=None, lease_expires=None)
            )
