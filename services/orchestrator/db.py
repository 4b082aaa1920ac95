"""Project state in SQL: SQLite by default, PostgreSQL when LUMIERE_DATABASE_URL points at one.

One data layer (SQLAlchemy Core, synchronous; callers run it in a thread so the event loop never
blocks): the tables and their migrations are schema.py, the rows as read rows.py, the leases
leases.py (`ProjectDB.leases`) and the stage tasks task_db.py (`ProjectDB.tasks`). Stage outputs
are stored as serialized protobuf messages.

Every write has a named method with typed arguments (`save_concept`, `save_video`, `fail`, ...):
callers never name columns, so a renamed column is a change to this module only.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from lumiere.v1 import common_pb2, concept_pb2, orchestrator_pb2, seeder_pb2
from sqlalchemy.engine import Connection

from services.common import stages
from services.common.stages import ACTIVE_STATES, StageValue, StateValue
from services.orchestrator.fencing import LeaseLost, lease_held
from services.orchestrator.leases import LeaseDB
from services.orchestrator.overrides import RunOverrides
from services.orchestrator.rows import (
    ProjectRow,
    RunKindValue,
    TaskRow,
    project_from_row,
    task_from_row,
)
from services.orchestrator.schema import make_engine, migrate, projects, tasks
from services.orchestrator.task_db import TaskDB

PS = orchestrator_pb2.ProjectState
__all__ = ["LeaseLost", "ProjectDB"]

# Where each run kind's video and the hash of its inputs live.
_VIDEO_COLUMNS = {
    common_pb2.RUN_KIND_FULL: (projects.c.final_video, projects.c.final_hash),
    common_pb2.RUN_KIND_PREVIEW: (projects.c.preview_video, projects.c.preview_hash),
}


def _progress_blob(stage: str, message: str) -> bytes:
    return common_pb2.Progress(stage=stage, message=message).SerializeToString()


class ProjectDB:
    """Synchronous data access; call it through asyncio.to_thread from async code."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        migrate(self.engine)
        self.leases = LeaseDB(self.engine)
        self.tasks = TaskDB(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    # -- projects: reads ---------------------------------------------------------------------

    def get(self, project_id: str) -> ProjectRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(projects).where(projects.c.id == project_id)).first()
        return project_from_row(row) if row else None

    def get_with_tasks(self, project_id: str) -> tuple[ProjectRow, list[TaskRow]] | None:
        """A project and its tasks in one round trip to a pooled connection."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(projects).where(projects.c.id == project_id)).first()
            if row is None:
                return None
            task_rows = conn.execute(sa.select(tasks).where(tasks.c.project_id == project_id)).all()
        return project_from_row(row), [task_from_row(r) for r in task_rows]

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
        return [project_from_row(r) for r in rows]

    def count_queued(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count())
                    .select_from(projects)
                    .where(projects.c.run_requested_at.is_not(None))
                ).scalar_one()
            )

    # -- projects: lifecycle (API side) --------------------------------------------------------

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
                        overrides=RunOverrides().to_json(),
                        run_kind=stages.run_kind_name(common_pb2.RUN_KIND_FULL),
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

    def request_run(
        self,
        project_id: str,
        run_kind: RunKindValue,
        now: float,
        allowed_states: Sequence[int],
        overrides: RunOverrides | None = None,
        concept: concept_pb2.Concept | None = None,
    ) -> ProjectRow | None:
        """Queue a run (state -> processing) if the project is in one of `allowed_states`;
        `concept` replaces the stored one in the same write (a per-shot regenerate's edit).

        Returns the updated row, or None if the state did not allow it (caller re-reads).
        """
        values: dict[Any, Any] = {
            projects.c.state: PS.PROJECT_STATE_PROCESSING,
            projects.c.run_kind: stages.run_kind_name(run_kind),
            projects.c.run_requested_at: now,
            projects.c.updated_at: now,
            projects.c.failed_stage: "",
            projects.c.error: "",
            projects.c.error_retryable: False,
            projects.c.progress: _progress_blob("queued", "waiting for a free worker"),
            projects.c.claims: 0,
            projects.c.processed_by: "",
        }
        if overrides is not None:
            values[projects.c.overrides] = overrides.to_json()
        if concept is not None:
            values[projects.c.concept] = concept.SerializeToString()
        with self._tx() as conn:
            result = conn.execute(
                projects.update()
                .where(projects.c.id == project_id, projects.c.state.in_(list(allowed_states)))
                .where(projects.c.run_requested_at.is_(None))
                .values(values)
            )
            if result.rowcount != 1:
                return None
        return self.get(project_id)

    def save_storyboard(
        self,
        project_id: str,
        concept: concept_pb2.Concept,
        overrides: RunOverrides,
        now: float,
    ) -> bool:
        """An edited storyboard (inside `concept`) and the re-draws it asks for, written only
        while no run is queued or running; False otherwise."""
        with self._tx() as conn:
            result = conn.execute(
                projects.update()
                .where(projects.c.id == project_id)
                .where(projects.c.run_requested_at.is_(None))
                .where(projects.c.state.not_in(list(ACTIVE_STATES)))
                .values(
                    concept=concept.SerializeToString(),
                    overrides=overrides.to_json(),
                    updated_at=now,
                )
            )
            return result.rowcount == 1

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
                    progress=_progress_blob("cancelled", "cancelled on request"),
                )
            )
            return result.rowcount == 1

    def delete(self, project_id: str) -> bool:
        with self._tx() as conn:
            conn.execute(tasks.delete().where(tasks.c.project_id == project_id))
            result = conn.execute(projects.delete().where(projects.c.id == project_id))
            return result.rowcount == 1

    # -- projects: what a run writes (fenced by its lease) --------------------------------------

    def save_state(
        self,
        project_id: str,
        owner: str,
        state: StateValue,
        progress: common_pb2.Progress,
        now: float,
    ) -> None:
        self._fenced(
            project_id,
            owner,
            {
                projects.c.state: state,
                projects.c.progress: progress.SerializeToString(),
                projects.c.updated_at: now,
            },
        )

    def save_progress(
        self, project_id: str, owner: str, progress: common_pb2.Progress, now: float
    ) -> None:
        self._fenced(
            project_id,
            owner,
            {projects.c.progress: progress.SerializeToString(), projects.c.updated_at: now},
        )

    def save_concept(
        self, project_id: str, owner: str, concept: concept_pb2.Concept, now: float
    ) -> None:
        self._fenced(
            project_id,
            owner,
            {projects.c.concept: concept.SerializeToString(), projects.c.updated_at: now},
        )

    def save_keyframes(
        self,
        project_id: str,
        owner: str,
        keyframes: seeder_pb2.GenerateKeyframesResult,
        overrides: RunOverrides,
        now: float,
    ) -> None:
        """The keyframes, and the overrides with the re-draws they fulfilled cleared."""
        self._fenced(
            project_id,
            owner,
            {
                projects.c.keyframes: keyframes.SerializeToString(),
                projects.c.overrides: overrides.to_json(),
                projects.c.updated_at: now,
            },
        )

    def save_video(
        self,
        project_id: str,
        owner: str,
        kind: RunKindValue,
        ref: common_pb2.ArtifactRef,
        inputs_hash: str,
        now: float,
    ) -> None:
        """The composed video of a run kind (FULL or PREVIEW) and the hash of its inputs."""
        video, video_hash = _VIDEO_COLUMNS[kind]
        self._fenced(
            project_id,
            owner,
            {video: ref.SerializeToString(), video_hash: inputs_hash, projects.c.updated_at: now},
        )

    def finish(
        self, project_id: str, owner: str, progress: common_pb2.Progress, now: float
    ) -> None:
        """The run completed: state -> completed, and the queue entry and lease are dropped."""
        self._fenced(
            project_id,
            owner,
            {
                projects.c.state: PS.PROJECT_STATE_COMPLETED,
                projects.c.progress: progress.SerializeToString(),
                projects.c.updated_at: now,
            },
            finish=True,
        )

    def fail(
        self,
        project_id: str,
        owner: str,
        stage: StageValue,
        error: str,
        retryable: bool,
        progress: common_pb2.Progress,
        now: float,
    ) -> None:
        """The run failed for good in `stage` (UNSPECIFIED: in the orchestrator itself)."""
        self._fenced(
            project_id,
            owner,
            {
                projects.c.state: PS.PROJECT_STATE_FAILED,
                projects.c.failed_stage: stages.stage_name(stage),
                projects.c.error: error,
                projects.c.error_retryable: retryable,
                projects.c.progress: progress.SerializeToString(),
                projects.c.updated_at: now,
            },
            finish=True,
        )

    def _fenced(
        self, project_id: str, owner: str, values: dict[Any, Any], finish: bool = False
    ) -> None:
        """Write as the lease holder; `finish` ends the run (clears queue entry and lease)."""
        if finish:
            values.update(
                {
                    projects.c.run_requested_at: None,
                    projects.c.lease_owner: None,
                    projects.c.lease_expires: None,
                }
            )
        with self._tx() as conn:
            result = conn.execute(
                projects.update().where(lease_held(project_id, owner)).values(values)
            )
            if result.rowcount != 1:
                raise LeaseLost(project_id)
