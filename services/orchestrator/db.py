"""Project state in SQL: SQLite by default, PostgreSQL when LUMIERE_DATABASE_URL points at one.

One data layer (SQLAlchemy Core, synchronous; callers run it in a thread so the event loop never
blocks) with versioned schema migrations. Stage outputs are stored as serialized protobuf messages.

Concurrency between orchestrator replicas: a project is processed only by the replica holding its
lease (`lease_owner`, `lease_expires`). Claims are compare-and-set UPDATEs (atomic in both
databases); on PostgreSQL candidates are picked with SELECT … FOR UPDATE SKIP LOCKED under a
transaction-scoped advisory lock so the global concurrency limit is counted consistently. Every
write a runner makes is fenced by its lease: a replica that lost its lease cannot overwrite state.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from lumiere.v1 import common_pb2, concept_pb2, orchestrator_pb2, seeder_pb2
from sqlalchemy.engine import Connection, Engine

PS = orchestrator_pb2.ProjectState
ACTIVE_STATES = (
    PS.PROJECT_STATE_PROCESSING,
    PS.PROJECT_STATE_CONCEPT_GENERATED,
    PS.PROJECT_STATE_SEEDS_GENERATED,
    PS.PROJECT_STATE_ANIMATIONS_GENERATED,
)
TERMINAL_STATES = (
    PS.PROJECT_STATE_COMPLETED,
    PS.PROJECT_STATE_FAILED,
    PS.PROJECT_STATE_CANCELLED,
)

metadata = sa.MetaData()


def _project_columns(version: int) -> list[Any]:
    """Columns and indexes of lumiere_projects as of schema `version`."""
    items: list[Any] = [
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("prompt", sa.Text, nullable=False),
        sa.Column("state", sa.Integer, nullable=False),
        # Inputs (audio, character images, lyrics, options) as a serialized Project message.
        sa.Column("spec", sa.LargeBinary, nullable=False),
        sa.Column("concept", sa.LargeBinary),  # Concept
        sa.Column("keyframes", sa.LargeBinary),  # GenerateKeyframesResult
        sa.Column("final_video", sa.LargeBinary),  # ArtifactRef
        sa.Column("final_hash", sa.String(64)),  # inputs of final_video
        sa.Column("preview_video", sa.LargeBinary),  # ArtifactRef
        sa.Column("preview_hash", sa.String(64)),
        # JSON: {"segment_seeds": {idx: seed}, "prompt_overrides": {moment: prompt},
        #        "keyframe_seeds": {moment: seed}, "redraw": [moment ids still to re-draw]}
        sa.Column("overrides", sa.Text, nullable=False, default="{}"),
        sa.Column("run_kind", sa.String(16), nullable=False, default="full"),
        sa.Column("failed_stage", sa.String(32), nullable=False, default=""),
        sa.Column("error", sa.Text, nullable=False, default=""),
        sa.Column("error_retryable", sa.Boolean, nullable=False, default=False),
        sa.Column("progress", sa.LargeBinary),  # Progress
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("updated_at", sa.Double, nullable=False),
        # Non-null = waiting for / in processing; the value orders the queue (oldest first).
        sa.Column("run_requested_at", sa.Double),
        sa.Column("lease_owner", sa.String(128)),
        sa.Column("lease_expires", sa.Double),
        # How many times a replica claimed this run (> 1 means it was resumed).
        sa.Column("claims", sa.Integer, nullable=False, default=0),
        sa.Index("ix_lumiere_projects_created", "created_at", "id"),
        sa.Index("ix_lumiere_projects_queue", "run_requested_at"),
    ]
    if version >= 2:
        # Which replicas claimed the current run, in order ("a,b" = started on a, resumed on b).
        items.append(sa.Column("processed_by", sa.Text))
    return items


def _task_columns(version: int) -> list[Any]:
    return [
        sa.Column("project_id", sa.String(64), primary_key=True),
        sa.Column("stage", sa.String(32), primary_key=True),
        sa.Column("idx", sa.Integer, primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, default=0),
        sa.Column("seconds", sa.Double, nullable=False, default=0.0),
        sa.Column("error", sa.Text, nullable=False, default=""),
        sa.Column("retryable", sa.Boolean, nullable=False, default=False),
        sa.Column("replica", sa.String(256), nullable=False, default=""),
        sa.Column("input_hash", sa.String(64), nullable=False, default=""),
        sa.Column("output", sa.LargeBinary),  # Segment for segment tasks
        sa.Column("started_at", sa.Double),
        sa.Column("finished_at", sa.Double),
        # Bumped each time a finished render is reused instead of rendered again.
        sa.Column("reused", sa.Integer, nullable=False, default=0),
        # Total renders actually performed for this task over the project's life.
        sa.Column("renders", sa.Integer, nullable=False, default=0),
    ]


SCHEMA_VERSION = 2
projects = sa.Table("lumiere_projects", metadata, *_project_columns(SCHEMA_VERSION))
tasks = sa.Table("lumiere_tasks", metadata, *_task_columns(SCHEMA_VERSION))

schema_version = sa.Table(
    "lumiere_schema_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("applied_at", sa.Double, nullable=False),
)


def _migration_1(conn: Connection) -> None:
    v1 = sa.MetaData()
    sa.Table("lumiere_projects", v1, *_project_columns(1))
    sa.Table("lumiere_tasks", v1, *_task_columns(1))
    v1.create_all(conn, checkfirst=True)


def _migration_2(conn: Connection) -> None:
    conn.execute(sa.text("ALTER TABLE lumiere_projects ADD COLUMN processed_by TEXT"))


# Ordered schema migrations; each runs once, in a transaction, and records its version.
# Append new steps (ALTER TABLE …) here; never edit a released one.
MIGRATIONS = [(1, _migration_1), (2, _migration_2)]


def make_engine(url: str) -> Engine:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        # psycopg 3 is the one PostgreSQL driver we ship.
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            # WAL lets readers (status polls) run while a writer commits.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def migrate(engine: Engine) -> int:
    """Bring the schema to the newest version; safe to run from several replicas at once."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(7215001)"))
        schema_version.create(conn, checkfirst=True)
        done = {row[0] for row in conn.execute(sa.select(schema_version.c.version))}
        for version, step in MIGRATIONS:
            if version not in done:
                step(conn)
                conn.execute(
                    schema_version.insert().values(version=version, applied_at=time.time())
                )
        return max(v for v, _ in MIGRATIONS)


@dataclass
class ProjectRow:
    """One project as stored, with its protobuf blobs already parsed."""

    id: str
    prompt: str
    state: int
    spec: orchestrator_pb2.Project
    concept: concept_pb2.Concept | None
    keyframes: seeder_pb2.GenerateKeyframesResult | None
    final_video: common_pb2.ArtifactRef | None
    final_hash: str | None
    preview_video: common_pb2.ArtifactRef | None
    preview_hash: str | None
    overrides: dict[str, Any]
    run_kind: str
    failed_stage: str
    error: str
    error_retryable: bool
    progress: common_pb2.Progress | None
    created_at: float
    updated_at: float
    run_requested_at: float | None
    lease_owner: str | None
    lease_expires: float | None
    claims: int
    processed_by: str


@dataclass
class TaskRow:
    project_id: str
    stage: str
    idx: int
    status: str
    attempts: int = 0
    seconds: float = 0.0
    error: str = ""
    retryable: bool = False
    replica: str = ""
    input_hash: str = ""
    output: bytes | None = None
    started_at: float | None = None
    finished_at: float | None = None
    reused: int = 0
    renders: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def _parse(msg_type: Any, blob: bytes | None) -> Any:
    if blob is None:
        return None
    msg = msg_type()
    msg.ParseFromString(blob)
    return msg


def _row_to_project(row: Any) -> ProjectRow:
    return ProjectRow(
        id=row.id,
        prompt=row.prompt,
        state=row.state,
        spec=_parse(orchestrator_pb2.Project, row.spec),
        concept=_parse(concept_pb2.Concept, row.concept),
        keyframes=_parse(seeder_pb2.GenerateKeyframesResult, row.keyframes),
        final_video=_parse(common_pb2.ArtifactRef, row.final_video),
        final_hash=row.final_hash,
        preview_video=_parse(common_pb2.ArtifactRef, row.preview_video),
        preview_hash=row.preview_hash,
        overrides=json.loads(row.overrides or "{}"),
        run_kind=row.run_kind,
        failed_stage=row.failed_stage,
        error=row.error,
        error_retryable=bool(row.error_retryable),
        progress=_parse(common_pb2.Progress, row.progress),
        created_at=row.created_at,
        updated_at=row.updated_at,
        run_requested_at=row.run_requested_at,
        lease_owner=row.lease_owner,
        lease_expires=row.lease_expires,
        claims=row.claims,
        processed_by=row.processed_by or "",
    )


def _row_to_task(r: Any) -> TaskRow:
    return TaskRow(
        project_id=r.project_id,
        stage=r.stage,
        idx=r.idx,
        status=r.status,
        attempts=r.attempts,
        seconds=r.seconds,
        error=r.error,
        retryable=bool(r.retryable),
        replica=r.replica,
        input_hash=r.input_hash,
        output=r.output,
        started_at=r.started_at,
        finished_at=r.finished_at,
        reused=r.reused,
        renders=r.renders,
    )


def _appended(owner: str) -> Any:
    """processed_by + "," + owner (just owner when empty), in SQL."""
    return sa.case(
        (sa.func.coalesce(projects.c.processed_by, "") == "", owner),
        else_=projects.c.processed_by + "," + owner,
    )


class LeaseLost(Exception):
    """This replica no longer holds the project's lease (cancelled, deleted or taken over)."""


class ProjectDB:
    """Synchronous data access; call it through asyncio.to_thread from async code."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.is_postgres = self.engine.dialect.name == "postgresql"
        migrate(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    # -- projects ---------------------------------------------------------------------------

    def insert_project(
        self, project_id: str, prompt: str, spec: orchestrator_pb2.Project, now: float
    ) -> bool:
        """Insert a new project; False if the id is taken."""
        try:
            with self._tx() as conn:
                conn.execute(
                    projects.insert().values(
                        id=project_id,
                        prompt=prompt,
                        state=PS.PROJECT_STATE_CREATED,
                        spec=spec.SerializeToString(),
                        overrides="{}",
                        run_kind="full",
                        failed_stage="",
                        error="",
                        error_retryable=False,
                        created_at=now,
                        updated_at=now,
                        claims=0,
                    )
                )
        except sa.exc.IntegrityError:
            return False
        return True

    def get(self, project_id: str) -> ProjectRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(projects).where(projects.c.id == project_id)).first()
        return _row_to_project(row) if row else None

    def get_with_tasks(self, project_id: str) -> tuple[ProjectRow, list[TaskRow]] | None:
        """A project and its tasks in one round trip to a pooled connection."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(projects).where(projects.c.id == project_id)).first()
            if row is None:
                return None
            task_rows = conn.execute(sa.select(tasks).where(tasks.c.project_id == project_id)).all()
        return _row_to_project(row), [_row_to_task(r) for r in task_rows]

    def list_page(self, limit: int, after: tuple[float, str] | None) -> list[ProjectRow]:
        """Newest first; `after` is the (created_at, id) of the last row of the previous page."""
        query = sa.select(projects).order_by(projects.c.created_at.desc(), projects.c.id.desc())
        if after is not None:
            created, pid = after
            query = query.where(
                sa.or_(
                    projects.c.created_at < created,
                    sa.and_(projects.c.created_at == created, projects.c.id < pid),
                )
            )
        with self.engine.connect() as conn:
            rows = conn.execute(query.limit(limit)).all()
        return [_row_to_project(r) for r in rows]

    def request_run(
        self,
        project_id: str,
        run_kind: str,
        now: float,
        allowed_states: Sequence[int],
        overrides: dict[str, Any] | None = None,
        clear_outputs: bool = False,
    ) -> ProjectRow | None:
        """Queue a run (state -> processing) if the project is in one of `allowed_states`.

        Returns the updated row, or None if the state did not allow it (caller re-reads).
        """
        values: dict[str, Any] = {
            "state": PS.PROJECT_STATE_PROCESSING,
            "run_kind": run_kind,
            "run_requested_at": now,
            "updated_at": now,
            "failed_stage": "",
            "error": "",
            "error_retryable": False,
            "progress": common_pb2.Progress(
                stage="queued", message="waiting for a free worker"
            ).SerializeToString(),
            "claims": 0,
            "processed_by": "",
        }
        if overrides is not None:
            values["overrides"] = json.dumps(overrides)
        if clear_outputs:
            values["final_video"] = None
            values["final_hash"] = None
        with self._tx() as conn:
            result = conn.execute(
                projects.update()
                .where(projects.c.id == project_id, projects.c.state.in_(list(allowed_states)))
                .where(projects.c.run_requested_at.is_(None))
                .values(**values)
            )
            if result.rowcount != 1:
                return None
        return self.get(project_id)

    def claim(
        self, owner: str, now: float, lease_s: float, limit: int, global_max: int
    ) -> list[str]:
        """Take up to `limit` queued projects whose lease is free, expired or already ours."""
        claimed: list[str] = []
        with self._tx() as conn:
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
        with self._tx() as conn:
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
        with self._tx() as conn:
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
        with self._tx() as conn:
            conn.execute(
                projects.update()
                .where(projects.c.id == project_id, projects.c.lease_owner == owner)
                .values(lease_owner=None, lease_expires=None)
            )

    def update_fenced(
        self, project_id: str, owner: str, finish: bool = False, **values: Any
    ) -> None:
        """Write as the lease holder; `finish` ends the run (clears queue entry and lease)."""
        if finish:
            values.update(run_requested_at=None, lease_owner=None, lease_expires=None)
        with self._tx() as conn:
            result = conn.execute(
                projects.update()
                .where(projects.c.id == project_id, projects.c.lease_owner == owner)
                .where(projects.c.run_requested_at.is_not(None))
                .values(**values)
            )
            if result.rowcount != 1:
                raise LeaseLost(project_id)

    def cancel(self, project_id: str, now: float) -> bool:
        """Cancel a queued or running project; False if it already finished."""
        with self._tx() as conn:
            result = conn.execute(
                projects.update()
                .where(projects.c.id == project_id)
                .where(
                    sa.or_(
                        projects.c.run_requested_at.is_not(None),
                        projects.c.state.in_(list(ACTIVE_STATES)),
                        projects.c.state == PS.PROJECT_STATE_CREATED,
                    )
                )
                .values(
                    state=PS.PROJECT_STATE_CANCELLED,
                    run_requested_at=None,
                    lease_owner=None,
                    lease_expires=None,
                    updated_at=now,
                    progress=common_pb2.Progress(
                        stage="cancelled", message="cancelled on request"
                    ).SerializeToString(),
                )
            )
            return result.rowcount == 1

    def delete(self, project_id: str) -> bool:
        with self._tx() as conn:
            conn.execute(tasks.delete().where(tasks.c.project_id == project_id))
            result = conn.execute(projects.delete().where(projects.c.id == project_id))
            return result.rowcount == 1

    # -- tasks ------------------------------------------------------------------------------

    def get_tasks(self, project_id: str, stages: Sequence[str] | None = None) -> list[TaskRow]:
        query = sa.select(tasks).where(tasks.c.project_id == project_id)
        if stages is not None:
            query = query.where(tasks.c.stage.in_(list(stages)))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [_row_to_task(r) for r in rows]

    def upsert_task(self, owner: str, project_id: str, stage: str, idx: int, **values: Any) -> None:
        """Create or update one task row, fenced by the project's lease."""
        self.upsert_tasks(owner, project_id, stage, [(idx, values)])

    def upsert_tasks(
        self,
        owner: str,
        project_id: str,
        stage: str,
        updates: Sequence[tuple[int, dict[str, Any]]],
    ) -> None:
        """Create or update several task rows in one transaction, fenced by the lease.

        Counters are given as `attempts_inc=1` (also reused_inc, renders_inc) and incremented in
        SQL, never read-modify-written.
        """
        with self._tx() as conn:
            held = conn.execute(
                sa.select(projects.c.id).where(
                    projects.c.id == project_id,
                    projects.c.lease_owner == owner,
                    projects.c.run_requested_at.is_not(None),
                )
            ).first()
            if held is None:
                raise LeaseLost(project_id)
            existing = {
                r[0]
                for r in conn.execute(
                    sa.select(tasks.c.idx).where(
                        tasks.c.project_id == project_id,
                        tasks.c.stage == stage,
                        tasks.c.idx.in_([idx for idx, _ in updates]),
                    )
                )
            }
            for idx, given in updates:
                values = dict(given)
                exists = idx in existing
                increments: dict[str, Any] = {}
                for name in ("attempts", "reused", "renders"):
                    inc = values.pop(f"{name}_inc", None)
                    if inc:
                        increments[name] = (getattr(tasks.c, name) + inc) if exists else inc
                if exists:
                    key = (
                        (tasks.c.project_id == project_id)
                        & (tasks.c.stage == stage)
                        & (tasks.c.idx == idx)
                    )
                    conn.execute(tasks.update().where(key).values(**values, **increments))
                else:
                    base: dict[str, Any] = {
                        "status": "pending",
                        "attempts": 0,
                        "reused": 0,
                        "renders": 0,
                    }
                    base.update(values)
                    base.update(increments)
                    conn.execute(
                        tasks.insert().values(project_id=project_id, stage=stage, idx=idx, **base)
                    )
                    existing.add(idx)

    def delete_tasks_from(self, owner: str, project_id: str, stage: str, first_idx: int) -> None:
        """Drop tasks of `stage` with index >= first_idx (the plan got shorter)."""
        with self._tx() as conn:
            conn.execute(
                tasks.delete().where(
                    tasks.c.project_id == project_id,
                    tasks.c.stage == stage,
                    tasks.c.idx >= first_idx,
                )
            )

    def count_queued(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count())
                    .select_from(projects)
                    .where(projects.c.run_requested_at.is_not(None))
                ).scalar_one()
            )
