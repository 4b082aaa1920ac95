"""The orchestrator's tables and their versioned migrations (SQLAlchemy Core).

Schema history, each step run once in a transaction and recorded in lumiere_schema_version:
  1. lumiere_projects and lumiere_tasks.
  2. lumiere_projects.processed_by (which replicas claimed the current run).
  3. Stage tasks are labelled by the pipeline table's stage names ("concept", "seeder",
     "animator", "compose"; services/common/stages.py) plus the run kind whose artifacts they
     make ("full", "preview"), instead of one free label ("segment", "preview_segment",
     "preview_compose"). The rows of lumiere_tasks are copied, relabelled, into the new table
     lumiere_stage_tasks and the old table is dropped. An existing database (the SQLite file in
     .lumiere/ by default) is upgraded in place on start; nothing is lost.
Append new steps (ALTER TABLE ...) to MIGRATIONS; never edit a released one.
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

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
        # RunOverrides as JSON (overrides.py).
        sa.Column("overrides", sa.Text, nullable=False, default="{}"),
        # Run kind name ("full", "preview", "regenerate") and failed stage name ("" = none).
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


def _task_measures() -> list[Any]:
    """The columns every version of the task table has besides its key.

    Part of released migrations 1 and 3: a new column is a new migration, not an edit here.
    """
    return [
        sa.Column("status", sa.String(16), nullable=False),  # task status name ("done")
        sa.Column("attempts", sa.Integer, nullable=False, default=0),
        sa.Column("seconds", sa.Double, nullable=False, default=0.0),
        sa.Column("error", sa.Text, nullable=False, default=""),
        sa.Column("retryable", sa.Boolean, nullable=False, default=False),
        sa.Column("replica", sa.String(256), nullable=False, default=""),
        sa.Column("input_hash", sa.String(64), nullable=False, default=""),
        sa.Column("output", sa.LargeBinary),  # Segment for animator tasks
        sa.Column("started_at", sa.Double),
        sa.Column("finished_at", sa.Double),
        # Bumped each time a finished render is reused instead of rendered again.
        sa.Column("reused", sa.Integer, nullable=False, default=0),
        # Total renders actually performed for this task over the project's life.
        sa.Column("renders", sa.Integer, nullable=False, default=0),
    ]


def _legacy_task_columns() -> list[Any]:
    """lumiere_tasks of schema versions 1-2: one free `stage` label per task."""
    return [
        sa.Column("project_id", sa.String(64), primary_key=True),
        sa.Column("stage", sa.String(32), primary_key=True),
        sa.Column("idx", sa.Integer, primary_key=True),
        *_task_measures(),
    ]


def _stage_task_columns() -> list[Any]:
    """lumiere_stage_tasks since schema version 3."""
    return [
        sa.Column("project_id", sa.String(64), primary_key=True),
        # Run kind name whose artifacts the task makes ("full" or "preview").
        sa.Column("run_kind", sa.String(16), primary_key=True),
        # Stage name from the pipeline table ("animator").
        sa.Column("stage", sa.String(32), primary_key=True),
        sa.Column("idx", sa.Integer, primary_key=True),
        *_task_measures(),
    ]


SCHEMA_VERSION = 3
projects = sa.Table("lumiere_projects", metadata, *_project_columns(SCHEMA_VERSION))
tasks = sa.Table("lumiere_stage_tasks", metadata, *_stage_task_columns())
schema_version = sa.Table(
    "lumiere_schema_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("applied_at", sa.Double, nullable=False),
)


def _migration_1(conn: Connection) -> None:
    v1 = sa.MetaData()
    sa.Table("lumiere_projects", v1, *_project_columns(1))
    sa.Table("lumiere_tasks", v1, *_legacy_task_columns())
    v1.create_all(conn, checkfirst=True)


def _migration_2(conn: Connection) -> None:
    conn.execute(sa.text("ALTER TABLE lumiere_projects ADD COLUMN processed_by TEXT"))


_MEASURES = ", ".join(c.name for c in _task_measures())


def _migration_3(conn: Connection) -> None:
    v3 = sa.MetaData()
    sa.Table("lumiere_stage_tasks", v3, *_stage_task_columns()).create(conn)
    conn.execute(
        sa.text(
            f"INSERT INTO lumiere_stage_tasks (project_id, run_kind, stage, idx, {_MEASURES}) "
            "SELECT project_id, "
            "CASE WHEN stage IN ('preview_segment', 'preview_compose') THEN 'preview' "
            "ELSE 'full' END, "
            "CASE stage WHEN 'segment' THEN 'animator' WHEN 'preview_segment' THEN 'animator' "
            "WHEN 'preview_compose' THEN 'compose' ELSE stage END, "
            f"idx, {_MEASURES} FROM lumiere_tasks"
        )
    )
    conn.execute(sa.text("DROP TABLE lumiere_tasks"))


MIGRATIONS = [(1, _migration_1), (2, _migration_2), (3, _migration_3)]


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
