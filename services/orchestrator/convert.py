"""Stored rows -> the public `Project` message."""

from __future__ import annotations

from lumiere.v1 import animator_pb2, orchestrator_pb2

from services.orchestrator.db import ProjectRow, TaskRow
from services.orchestrator.pipeline import to_timestamp

# Pipeline order of task stages, for a stable listing.
STAGE_ORDER = {
    "concept": 0,
    "seeder": 1,
    "segment": 2,
    "compose": 3,
    "preview_segment": 4,
    "preview_compose": 5,
}


def task_to_proto(task: TaskRow) -> orchestrator_pb2.StageTask:
    return orchestrator_pb2.StageTask(
        stage=task.stage,
        index=task.idx,
        status=task.status,
        attempts=task.attempts,
        seconds=task.seconds,
        error=task.error,
        retryable=task.retryable,
        replica=task.replica,
        started_at=to_timestamp(task.started_at),
        finished_at=to_timestamp(task.finished_at),
        renders=task.renders,
        reused=task.reused,
    )


def project_to_proto(
    row: ProjectRow, task_rows: list[TaskRow] | None = None
) -> orchestrator_pb2.Project:
    project = orchestrator_pb2.Project()
    project.CopyFrom(row.spec)
    project.id = row.id
    project.prompt = row.prompt
    project.state = row.state  # type: ignore[assignment]
    if row.concept is not None:
        project.concept.CopyFrom(row.concept)
    if row.keyframes is not None:
        project.keyframes.extend(row.keyframes.keyframes)
    if row.final_video is not None:
        project.final_video.CopyFrom(row.final_video)
    if row.preview_video is not None:
        project.preview_video.CopyFrom(row.preview_video)
    project.failed_stage = row.failed_stage
    project.error = row.error
    project.error_retryable = row.error_retryable
    project.run_kind = row.run_kind
    if row.progress is not None:
        project.progress.CopyFrom(row.progress)
    project.created_at.CopyFrom(to_timestamp(row.created_at))
    project.updated_at.CopyFrom(to_timestamp(row.updated_at))
    if task_rows:
        ordered = sorted(task_rows, key=lambda t: (STAGE_ORDER.get(t.stage, 9), t.idx))
        project.tasks.extend(task_to_proto(t) for t in ordered)
        for t in ordered:
            if t.stage == "segment" and t.status == "done" and t.output:
                segment = animator_pb2.Segment()
                segment.ParseFromString(t.output)
                project.segments.append(segment)
    return project
