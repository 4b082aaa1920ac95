"""The animator step: a run's segments, fanned out over the animator pool.

A segment whose reuse key (hashing.py) matches its finished task and whose video is still in the
store is reused; the others render concurrently. The first segment that fails for good cancels
the rest and fails the step.
"""

from __future__ import annotations

import asyncio

from lumiere.v1 import animator_pb2, common_pb2, concept_pb2, seeder_pb2, storyboard_pb2

from services.common import contract
from services.common.storage import ArtifactStore
from services.orchestrator import hashing, storyboards
from services.orchestrator.fencing import LeaseLost
from services.orchestrator.reporting import Run, RunReporter
from services.orchestrator.retry import OnAttempt, StageError
from services.orchestrator.rows import TaskRow
from services.orchestrator.stage_calls import StageCalls
from services.orchestrator.timeline import PlannedSegment

ANIMATOR = common_pb2.STAGE_ANIMATOR


def transition_for(
    entry: storyboard_pb2.ShotEntry.ValueType,
) -> animator_pb2.TransitionKind.ValueType:
    """The animator's transition for a shot's entry: the enum value of the same name."""
    name = storyboard_pb2.ShotEntry.Name(entry).removeprefix("SHOT_ENTRY_")
    values = animator_pb2.TransitionKind.DESCRIPTOR.values_by_name
    found = values.get(f"TRANSITION_KIND_{name}")
    return found.number if found is not None else animator_pb2.TRANSITION_KIND_UNSPECIFIED


def _shot_of(
    board: storyboard_pb2.Storyboard, kf: seeder_pb2.Keyframe
) -> storyboard_pb2.Shot | None:
    if not kf.shot_id:
        return None
    return next((s for s in board.shots if s.id == kf.shot_id), None)


def segment_request(
    run: Run,
    concept: concept_pb2.Concept,
    keyframes: list[seeder_pb2.Keyframe],
    seg: PlannedSegment,
) -> animator_pb2.RenderSegmentRequest:
    """The render request of one planned segment.

    Into a storyboard shot, the transition is the shot's entry; into a hard cut the segment
    holds its own shot to its last frame, so the next keyframe is not sent (nor part of the
    reuse key: redrawing the next shot does not re-render this one).
    """
    request = animator_pb2.RenderSegmentRequest(
        project_id=run.project_id,
        segment_index=seg.index,
        start_frame=seg.start_frame,
        end_frame=seg.end_frame,
        from_keyframe=keyframes[seg.from_keyframe],
        concept=concept,
        video=run.video,
        seed=run.row.overrides.segment_seed(seg.index, run.row.spec.options.seed),
        shot_backend=run.row.spec.options.shot_backend,
    )
    to_kf = keyframes[seg.to_keyframe]
    next_shot = (
        _shot_of(concept.storyboard, to_kf) if seg.to_keyframe != seg.from_keyframe else None
    )
    if next_shot is not None:
        request.transition = transition_for(next_shot.entry)
    if next_shot is None or next_shot.entry != storyboard_pb2.SHOT_ENTRY_CUT:
        request.to_keyframe.CopyFrom(to_kf)
    return request


def shots_part(
    concept: concept_pb2.Concept,
    request: animator_pb2.RenderSegmentRequest,
    fps: int,
) -> bytes:
    """The storyboard shots a segment request renders, for its reuse key."""
    board = concept.storyboard
    if not board.shots:
        return b""
    start = contract.frame_to_time(int(request.start_frame), fps)
    end = contract.frame_to_time(int(request.end_frame), fps)
    near = list(storyboards.overlapping(board, start, end))
    shown = [s for s in near if s.start_time < end - storyboards.TIME_TOLERANCE_S]
    cut_into = next((s for s in near if s not in shown), None)
    return hashing.segment_shots_part(shown, cut_into, request.HasField("to_keyframe"))


class _FanOutProgress:
    """The step's progress: the mean of every segment's own fraction."""

    def __init__(self, run: Run, report: RunReporter, total: int, reused: list[int]) -> None:
        self.run = run
        self.report = report
        self.total = total
        self.fractions = {i: 1.0 for i in reused}

    async def update(self, index: int, fraction: float) -> None:
        self.fractions[index] = fraction
        done = sum(1 for f in self.fractions.values() if f >= 1.0)
        within = sum(self.fractions.values()) / self.total
        message = f"segments {done}/{self.total} rendered"
        await self.report.progress(self.run, ANIMATOR, within, message, done, self.total)


class SegmentRenderer:
    def __init__(self, calls: StageCalls, report: RunReporter, store: ArtifactStore) -> None:
        self.calls = calls
        self.report = report
        self.store = store

    async def render_all(
        self, run: Run, concept: concept_pb2.Concept, keyframes: list[seeder_pb2.Keyframe]
    ) -> list[animator_pb2.Segment]:
        concept_hash = hashing.concept_hash(concept)
        existing = await run.tasks.existing(ANIMATOR, run.task_kind(ANIMATOR))
        results: dict[int, animator_pb2.Segment] = {}
        to_render: list[tuple[animator_pb2.RenderSegmentRequest, str]] = []
        for seg in run.plan:
            request = segment_request(run, concept, keyframes, seg)
            inputs = hashing.segment_inputs_hash(
                request, concept_hash, shots_part(concept, request, run.video.fps)
            )
            reused = await self._reusable(existing.get(seg.index), inputs)
            if reused is not None:
                results[seg.index] = reused
            else:
                to_render.append((request, inputs))
        total = len(run.plan)
        pending = {request.segment_index: inputs for request, inputs in to_render}
        await run.tasks.plan(ANIMATOR, run.task_kind(ANIMATOR), total, list(results), pending)
        progress = _FanOutProgress(run, self.report, total, list(results))
        await self.report.progress(
            run,
            ANIMATOR,
            len(results) / total,
            f"rendering {len(to_render)} of {total} segments ({len(results)} reused)",
            len(results),
            total,
        )
        try:
            async with asyncio.TaskGroup() as group:
                running = [
                    group.create_task(self._render_one(run, request, inputs, progress))
                    for request, inputs in to_render
                ]
        except BaseExceptionGroup as group_exc:
            # The first segment that failed for good cancels the others; report that one.
            for exc in group_exc.exceptions:
                if isinstance(exc, (StageError, LeaseLost)):
                    raise exc from None
            raise
        for rendered in running:
            segment = rendered.result()
            results[segment.index] = segment
        return [results[seg.index] for seg in run.plan]

    async def _reusable(self, task: TaskRow | None, inputs: str) -> animator_pb2.Segment | None:
        """The finished segment of `task` if it was made from the same inputs and still exists."""
        if (
            task is None
            or task.status != common_pb2.TASK_STATUS_DONE
            or task.input_hash != inputs
            or not task.output
        ):
            return None
        segment = animator_pb2.Segment()
        segment.ParseFromString(task.output)
        if not await asyncio.to_thread(self.store.exists, segment.video.key):
            return None
        return segment

    async def _render_one(
        self,
        run: Run,
        request: animator_pb2.RenderSegmentRequest,
        inputs: str,
        progress: _FanOutProgress,
    ) -> animator_pb2.Segment:
        index = request.segment_index
        key = run.task_key(ANIMATOR, index)

        async def on_progress(p: common_pb2.Progress) -> None:
            await progress.update(index, p.fraction)

        async def call(on_attempt: OnAttempt) -> animator_pb2.Segment:
            async def attempt(replica: str) -> None:
                await on_attempt(replica)
                progress.fractions[index] = 0.0

            segment = (await self.calls.render(request, attempt, on_progress)).segment
            if (segment.start_frame, segment.end_frame) != (request.start_frame, request.end_frame):
                raise StageError(
                    ANIMATOR,
                    f"segment {index}: animator returned frames "
                    f"[{segment.start_frame}, {segment.end_frame}), expected "
                    f"[{request.start_frame}, {request.end_frame})",
                    False,
                )
            return segment

        segment = await run.tasks.call(key, call)
        await run.tasks.done(key, output=segment.SerializeToString(), input_hash=inputs)
        await progress.update(index, 1.0)
        return segment
