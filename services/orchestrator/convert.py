"""Stored rows -> the public `Project` message."""

from __future__ import annotations

from lumiere.v1 import animator_pb2, common_pb2, orchestrator_pb2

from services.common import stages
from services.orchestrator.db import ProjectRow, TaskRow
from services.orchestrator.pipeline import to_timestamp

# Stored task labels -> (stage, the run kind whose artifacts the task makes).
_TASK_LABELS = {
    "concept": (common_pb2.STAGE_CONCEPT, common_pb2.RUN_KIND_FULL),
    "seeder": (common_pb2.STAGE_SEEDER, common_pb2.RUN_KIND_FULL),
    "segment": (common_pb2.STAGE_ANIMATOR, common_pb2.RUN_KIND_FULL),
    "compose": (common_pb2.STAGE_COMPOSE, common_pb2.RUN_KIND_FULL),
    "preview_segment": (common_pb2.STAGE_ANIMATOR, common_pb2.RUN_KIND_PREVIEW),
    "preview_compose": (common_pb2.STAGE_COMPOSE, common_pb2.RUN_KIND_PREVIEW),
}


def _task_order(task: TaskRow) -> tuple[int, int, int]:
    stage, kind = _TASK_LABELS.get(task.stage, (common_pb2.STAGE_UNSPECIFIED, 0))
    return (kind, stage or 99, task.idx)


def task_to_proto(task: TaskRow) -> orchestrator_pb2.StageTask:
    stage, kind = _TASK_LABELS.get(task.stage, (common_pb2.STAGE_UNSPECIFIED, 0))
    return orchestrator_pb2.StageTask(
        stage=stage,
        run_kind=kind,  # type: ignore[arg-type]
        index=task.idx,
        status=common_pb2.TaskStatus.Value("TASK_STATUS_" + task.status.upper()),
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
    failed = stages.BY_NAME.get(row.failed_stage)
    project.failed_stage = failed.stage if failed else common_pb2.STAGE_UNSPECIFIED
    project.error = row.error
    project.error_retryable = row.error_retryable
    project.run_kind = common_pb2.RunKind.Value("RUN_KIND_" + row.run_kind.upper())
    if row.progress is not None:
        project.progress.CopyFrom(row.progress)
    project.created_at.CopyFrom(to_timestamp(row.created_at))
    project.updated_at.CopyFrom(to_timestamp(row.updated_at))
    if task_rows:
        ordered = sorted(task_rows, key=_task_order)
        project.tasks.extend(task_to_proto(t) for t in ordered)
        for t in ordered:
            if t.stage == "segment" and t.status == "done" and t.output:
                segment = animator_pb2.Segment()
                segment.ParseFromString(t.output)
                project.segments.append(segment)
    return project
