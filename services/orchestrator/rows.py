"""Rows as the orchestrator reads them: protobuf blobs parsed, names as proto enum values.

The database stores stages, run kinds and task statuses as their names from the pipeline table
(services/common/stages.py: "animator", "preview", "done"); Python code sees the enum values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

from lumiere.v1 import common_pb2, concept_pb2, orchestrator_pb2, seeder_pb2

from services.common import stages
from services.common.stages import StageValue, StateValue
from services.orchestrator.overrides import RunOverrides

RunKindValue: TypeAlias = common_pb2.RunKind.ValueType
TaskStatusValue: TypeAlias = common_pb2.TaskStatus.ValueType


def stage_value(name: str) -> StageValue:
    spec = stages.BY_NAME.get(name)
    return spec.stage if spec is not None else common_pb2.STAGE_UNSPECIFIED


def run_kind_value(name: str) -> RunKindValue:
    try:
        return common_pb2.RunKind.Value("RUN_KIND_" + name.upper())
    except ValueError:
        return common_pb2.RUN_KIND_UNSPECIFIED


def status_value(name: str) -> TaskStatusValue:
    try:
        return common_pb2.TaskStatus.Value("TASK_STATUS_" + name.upper())
    except ValueError:
        return common_pb2.TASK_STATUS_UNSPECIFIED


@dataclass
class ProjectRow:
    """One project as stored, with its protobuf blobs already parsed."""

    id: str
    prompt: str
    state: StateValue
    spec: orchestrator_pb2.Project
    concept: concept_pb2.Concept | None
    keyframes: seeder_pb2.GenerateKeyframesResult | None
    final_video: common_pb2.ArtifactRef | None
    final_hash: str | None
    preview_video: common_pb2.ArtifactRef | None
    preview_hash: str | None
    overrides: RunOverrides
    run_kind: RunKindValue
    failed_stage: StageValue
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

    def video(self, kind: RunKindValue) -> tuple[common_pb2.ArtifactRef | None, str | None]:
        """The stored video of a run kind (FULL or PREVIEW) and the hash of its inputs."""
        if kind == common_pb2.RUN_KIND_PREVIEW:
            return self.preview_video, self.preview_hash
        return self.final_video, self.final_hash


@dataclass(frozen=True)
class TaskKey:
    """One task of a project: a stage, the run kind whose artifacts it makes, an index."""

    stage: StageValue
    # FULL or PREVIEW (concept and seeder tasks make artifacts both kinds share: FULL).
    run_kind: RunKindValue
    # Segment index for animator tasks, 0 otherwise.
    idx: int = 0


@dataclass
class TaskRow:
    project_id: str
    key: TaskKey
    status: TaskStatusValue
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


def _parse(msg_type: Any, blob: bytes | None) -> Any:
    if blob is None:
        return None
    msg = msg_type()
    msg.ParseFromString(blob)
    return msg


def project_from_row(row: Any) -> ProjectRow:
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
        overrides=RunOverrides.from_json(row.overrides),
        run_kind=run_kind_value(row.run_kind),
        failed_stage=stage_value(row.failed_stage),
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


def task_from_row(r: Any) -> TaskRow:
    return TaskRow(
        project_id=r.project_id,
        key=TaskKey(stage_value(r.stage), run_kind_value(r.run_kind), r.idx),
        status=status_value(r.status),
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
