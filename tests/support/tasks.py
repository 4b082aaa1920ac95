"""Reading a project's stage tasks in tests."""

from __future__ import annotations

from lumiere.v1 import common_pb2, orchestrator_pb2


def is_segment_task(task: orchestrator_pb2.StageTask) -> bool:
    """One segment render of the full video (not of the preview animatic)."""
    return task.stage == common_pb2.STAGE_ANIMATOR and task.run_kind == common_pb2.RUN_KIND_FULL
