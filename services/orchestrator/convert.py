"""Stored rows -> the public `Project` message."""

from __future__ import annotations

from lumiere.v1 import animator_pb2, common_pb2, orchestrator_pb2

from services.common.stages import PIPELINE
from services.orchestrator.clock import to_timestamp
from services.orchestrator.rows import ProjectRow, TaskRow

_STAGE_RANK = {spec.stage: rank for rank, spec in enumerate(PIPELINE)}


def _task_order(task: TaskRow) -> tuple[int, int, int]:
    """The full video's tasks first, then the preview's; each in pipeline order."""
    return (task.key.run_kind, _STAGE_RANK.get(task.key.stage, len(PIPELINE)), task.key.idx)


def task_to_proto(task: TaskRow) -> orchestrator_pb2.StageTask:
    return orchestrator_pb2.StageTask(
        stage=task.key.stage,
        run_kind=task.key.run_kind,
        index=task.key.idx,
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


def _is_full_segment(task: TaskRow) -> bool:
    return (
        task.key.stage == common_pb2.STAGE_ANIMATOR
        and task.key.run_kind == common_pb2.RUN_KIND_FULL
        and task.status == common_pb2.TASK_STATUS_DONE
        and bool(task.output)
    )


def project_to_proto(
    row: ProjectRow, task_rows: list[TaskRow] | None = None
) -> orchestrator_pb2.Project:
    project = orchestrator_pb2.Project()
    project.CopyFrom(row.spec)
    project.id = row.id
    project.prompt = row.prompt
    project.state = row.state
    if row.concept is not None:
        project.concept.CopyFrom(row.concept)
    if row.keyframes is not None:
        project.keyframes.extend(row.keyframes.keyframes)
        if row.keyframes.contact_sheet.key:
            project.contact_sheet.CopyFrom(row.keyframes.contact_sheet)
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
        ordered = sorted(task_rows, key=_task_order)
        project.tasks.extend(task_to_proto(t) for t in ordered)
        # The full video's segments, in timeline order.
        for t in ordered:
            if _is_full_segment(t):
                assert t.output is not None
                segment = animator_pb2.Segment()
                segment.ParseFromString(t.output)
                project.segments.append(segment)
    return project
