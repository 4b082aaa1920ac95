"""The pipeline of one project run: stage calls, fan-out, retries, state and task writes.

`PipelineStages` is mixed into `Engine` (engine.py), which owns the process-wide parts (queue,
leases, watchers). Each step is skipped when its stored output still matches its inputs, which is
what makes resume (after a crash or a lease takeover), regenerate (only changed segments
re-render) and a full render after a preview cheap. Every state change is written to the
database before it is published to watchers; progress is published at once and persisted at a
bounded rate.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from lumiere.v1 import (
    animator_pb2,
    common_pb2,
    concept_pb2,
    concept_pb2_grpc,
    orchestrator_pb2,
    seeder_pb2,
    seeder_pb2_grpc,
)

from services.common.settings import Settings
from services.common.storage import ArtifactStore
from services.orchestrator import hashing
from services.orchestrator.config import OrchestratorConfig
from services.orchestrator.db import ACTIVE_STATES, LeaseLost, ProjectDB, ProjectRow
from services.orchestrator.events import STATE_RANK, Hub
from services.orchestrator.pool import AnimatorPool
from services.orchestrator.timeline import PlannedSegment, plan_segments
from services.orchestrator.validation import full_settings, preview_settings

log = logging.getLogger(__name__)
PS = orchestrator_pb2.ProjectState
T = TypeVar("T")

RETRYABLE_CODES = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.ABORTED,
}
# Overall progress ranges per stage (fraction of the whole run).
STAGE_SPAN = {
    "concept": (0.0, 0.1),
    "seeder": (0.1, 0.25),
    "animator": (0.25, 0.9),
    "compose": (0.9, 1.0),
}


class StageError(Exception):
    """A stage failed for good: which stage, a message a person can act on, retryable or not."""

    def __init__(self, stage: str, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.stage = stage
        self.message = message
        self.retryable = retryable


def is_retryable(exc: grpc.aio.AioRpcError) -> bool:
    if exc.code() in RETRYABLE_CODES:
        return True
    # A replica killed mid-stream sometimes surfaces as INTERNAL/UNKNOWN with a transport error.
    details = (exc.details() or "").lower()
    return exc.code() in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN) and any(
        s in details for s in ("rst_stream", "stream removed", "socket closed", "connection reset")
    )


def rpc_message(stage: str, exc: grpc.aio.AioRpcError, where: str = "") -> str:
    details = exc.details() or "no details"
    place = f" on {where}" if where else ""
    return f"{stage} failed{place}: {details} ({exc.code().name})"


def now() -> float:
    return time.time()


def to_timestamp(seconds: float | None) -> Timestamp:
    ts = Timestamp()
    if seconds:
        ts.FromNanoseconds(int(seconds * 1e9))
    return ts


@dataclass
class LocalRun:
    """A run this replica is executing."""

    task: asyncio.Task[None]
    # Why it was cancelled: "cancel", "delete", "lease", "shutdown", "crash".
    reason: str = ""
    # Set just before the final write (which also drops the lease): the heartbeat must not take
    # the then-missing lease for a takeover and cancel the run mid-write.
    finishing: bool = False


@dataclass
class Run:
    """State of one project run on this replica."""

    project_id: str
    row: ProjectRow
    state: int
    last_persist: float = 0.0
    segment_fraction: dict[int, float] = field(default_factory=dict)


class PipelineStages:
    """The stage logic of a run; needs the attributes below, which `Engine` provides."""

    settings: Settings
    store: ArtifactStore
    config: OrchestratorConfig
    owner: str
    db: ProjectDB
    hub: Hub
    pool: AnimatorPool
    concept: concept_pb2_grpc.ConceptServiceStub
    seeder: seeder_pb2_grpc.SeederServiceStub
    _local: dict[str, LocalRun]

    async def _db(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def _set_state(
        self, run: Run, state: int, message: str, stage: str, fraction: float
    ) -> None:
        if run.state in ACTIVE_STATES and STATE_RANK[state] <= STATE_RANK[run.state]:
            # A resumed run passes finished steps again: the state never moves backwards.
            return
        progress = common_pb2.Progress(stage=stage, fraction=fraction, message=message)
        await self._db(
            self.db.update_fenced,
            run.project_id,
            self.owner,
            state=state,
            progress=progress.SerializeToString(),
            updated_at=now(),
        )
        run.state = state
        run.last_persist = time.monotonic()
        self.hub.publish(
            orchestrator_pb2.WatchProjectEvent(
                project_id=run.project_id,
                state=state,  # type: ignore[arg-type]
                progress=progress,
                message=message,
            )
        )

    async def _progress(
        self,
        run: Run,
        stage: str,
        within: float,
        message: str,
        done: int = 0,
        total: int = 0,
    ) -> None:
        lo, hi = STAGE_SPAN[stage]
        progress = common_pb2.Progress(
            stage=stage,
            fraction=lo + (hi - lo) * max(0.0, min(1.0, within)),
            message=message,
            done=done,
            total=total,
        )
        self.hub.publish(
            orchestrator_pb2.WatchProjectEvent(
                project_id=run.project_id,
                state=run.state,  # type: ignore[arg-type]
                progress=progress,
                message=message,
            )
        )
        # Progress is persisted at a bounded rate (state changes always are), so pollers and
        # watchers on other replicas see it too without a write per frame.
        if time.monotonic() - run.last_persist >= self.config.progress_persist_s:
            run.last_persist = time.monotonic()
            await self._db(
                self.db.update_fenced,
                run.project_id,
                self.owner,
                progress=progress.SerializeToString(),
                updated_at=now(),
            )

    def _finishing(self, project_id: str) -> None:
        local = self._local.get(project_id)
        if local is not None:
            local.finishing = True

    async def _finish_run(
        self,
        project_id: str,
        state: orchestrator_pb2.ProjectState.ValueType,
        progress: common_pb2.Progress,
        message: str,
        **columns: Any,
    ) -> None:
        """End a run: persist the final state first, then report it to watchers."""
        self._finishing(project_id)
        await self._db(
            self.db.update_fenced,
            project_id,
            self.owner,
            finish=True,
            state=state,
            progress=progress.SerializeToString(),
            updated_at=now(),
            **columns,
        )
        self.hub.publish(
            orchestrator_pb2.WatchProjectEvent(
                project_id=project_id, state=state, progress=progress, message=message
            )
        )

    async def _fail_run(self, project_id: str, stage: str, message: str, retryable: bool) -> None:
        await self._finish_run(
            project_id,
            PS.PROJECT_STATE_FAILED,
            common_pb2.Progress(stage=stage, message=message),
            message,
            failed_stage=stage,
            error=message,
            error_retryable=retryable,
        )

    # -- stage calls --------------------------------------------------------------------------

    async def _retrying(
        self,
        stage: str,
        attempt: Callable[[int], Awaitable[T]],
        where: str,
    ) -> T:
        """Run `attempt(n)` with backoff on transient gRPC failures."""
        last: grpc.aio.AioRpcError | None = None
        for n in range(1, self.config.max_attempts + 1):
            try:
                return await attempt(n)
            except grpc.aio.AioRpcError as exc:
                last = exc
                if not is_retryable(exc) or n == self.config.max_attempts:
                    break
                log.warning("%s attempt %d failed (%s); retrying", stage, n, exc.code().name)
                await asyncio.sleep(self._backoff(n))
        assert last is not None
        retryable = is_retryable(last)
        suffix = f" after {self.config.max_attempts} attempts" if retryable else ""
        raise StageError(stage, rpc_message(stage, last, where) + suffix, retryable)

    def _backoff(self, attempt: int) -> float:
        base = self.config.retry_backoff_s * (2 ** (attempt - 1))
        return min(self.config.retry_backoff_max_s, base) * random.uniform(0.75, 1.25)

    async def _stream_result(
        self,
        stage: str,
        call: Any,
        on_progress: Callable[[common_pb2.Progress], Awaitable[None]],
    ) -> Any:
        result = None
        async for event in call:
            kind = event.WhichOneof("event")
            if kind == "progress":
                await on_progress(event.progress)
            elif kind == "result":
                result = event.result
        if result is None:
            raise StageError(stage, f"{stage} ended its stream without a result", True)
        return result

    async def _task(self, run: Run, stage: str, idx: int, **values: Any) -> None:
        await self._db(self.db.upsert_task, self.owner, run.project_id, stage, idx, **values)

    async def _task_failed(
        self, run: Run, stage: str, idx: int, started: float, message: str, retryable: bool
    ) -> None:
        """Record a stage task as failed for good: why, whether a retry may help, time taken."""
        await self._task(
            run,
            stage,
            idx,
            status="failed",
            error=message,
            retryable=retryable,
            finished_at=now(),
            seconds=now() - started,
        )

    async def _task_done(
        self, run: Run, stage: str, idx: int, started: float, **values: Any
    ) -> None:
        """Record a stage task as rendered: clears the error, counts one render, plus `values`."""
        await self._task(
            run,
            stage,
            idx,
            status="done",
            error="",
            retryable=False,
            finished_at=now(),
            seconds=now() - started,
            renders_inc=1,
            **values,
        )

    async def _run_simple_stage(
        self,
        run: Run,
        stage: str,
        target: str,
        make_call: Callable[[], Any],
        deadline_label: str,
    ) -> Any:
        """Concept / seeder / compose: one streaming call with retries and a task row."""
        started = now()

        async def attempt(n: int) -> Any:
            await self._task(
                run, stage, 0, status="running", attempts_inc=1, started_at=now(), replica=target
            )

            async def on_progress(p: common_pb2.Progress) -> None:
                await self._progress(run, stage, p.fraction, p.message or stage, p.done, p.total)

            return await self._stream_result(stage, make_call(), on_progress)

        try:
            result = await self._retrying(stage, attempt, target)
        except StageError as exc:
            await self._task_failed(run, stage, 0, started, exc.message, exc.retryable)
            raise
        await self._task_done(run, stage, 0, started)
        log.debug("%s done in %.2fs (%s)", stage, now() - started, deadline_label)
        return result

    # -- the pipeline -------------------------------------------------------------------------

    async def _run(self, project_id: str) -> None:
        row = await self._db(self.db.get, project_id)
        if row is None or row.lease_owner != self.owner or row.run_requested_at is None:
            return
        run = Run(project_id, row, row.state)
        spec = row.spec
        options = spec.options
        try:
            if run.state not in ACTIVE_STATES:
                await self._set_state(run, PS.PROJECT_STATE_PROCESSING, "started", "concept", 0.0)

            # 1. concept
            concept = row.concept
            if concept is None:
                concept = await self._concept_stage(run)
            await self._set_state(
                run,
                PS.PROJECT_STATE_CONCEPT_GENERATED,
                f"concept ready: {concept.tempo_bpm:.0f} BPM, "
                f"{len(concept.key_moments)} key moments",
                "concept",
                STAGE_SPAN["concept"][1],
            )

            # 2. keyframes (all of them, or only the ones a regenerate asked to re-draw)
            keyframes = row.keyframes
            redraw = list(row.overrides.get("redraw", []))
            if keyframes is None or redraw:
                keyframes = await self._seeder_stage(run, concept, keyframes, redraw)
            await self._set_state(
                run,
                PS.PROJECT_STATE_SEEDS_GENERATED,
                f"{len(keyframes.keyframes)} keyframes ready",
                "seeder",
                STAGE_SPAN["seeder"][1],
            )

            # 3. segments, fanned out over the animator pool
            preview = row.run_kind == "preview"
            video = (
                preview_settings(options, self.config.preview_width, self.config.preview_fps)
                if preview
                else full_settings(options)
            )
            kfs = sorted(keyframes.keyframes, key=lambda k: k.time)
            try:
                plan = plan_segments(concept.duration_seconds, video.fps, [k.time for k in kfs])
            except Exception as exc:  # InvalidInput from the planner
                raise StageError("animator", f"cannot plan the timeline: {exc}", False) from exc
            seg_stage = "preview_segment" if preview else "segment"
            segments = await self._segments_stage(run, seg_stage, concept, kfs, plan, video)
            await self._set_state(
                run,
                PS.PROJECT_STATE_ANIMATIONS_GENERATED,
                f"{len(segments)} segments rendered",
                "animator",
                STAGE_SPAN["animator"][1],
            )

            # 4. compose with the song
            total = plan[-1].end_frame
            await self._compose_stage(run, preview, segments, video, total)
            done_msg = "preview ready" if preview else "video ready"
            await self._finish_run(
                project_id,
                PS.PROJECT_STATE_COMPLETED,
                common_pb2.Progress(stage="compose", fraction=1.0, message=done_msg),
                done_msg,
            )
            run.state = PS.PROJECT_STATE_COMPLETED
            log.info("project %s completed (%s)", project_id, row.run_kind)
        except StageError as exc:
            log.warning("project %s failed in %s: %s", project_id, exc.stage, exc.message)
            await self._fail_run(project_id, exc.stage, exc.message, exc.retryable)

    async def _concept_stage(self, run: Run) -> concept_pb2.Concept:
        spec = run.row.spec
        request = concept_pb2.AnalyzeAudioRequest(
            project_id=run.project_id,
            audio=spec.audio,
            prompt=spec.prompt,
            key_moment_count=spec.options.key_moment_count,
            lyrics=spec.lyrics if spec.HasField("lyrics") else None,
        )
        await self._progress(run, "concept", 0.0, "analysing the music")
        result = await self._run_simple_stage(
            run,
            "concept",
            self.settings.concept_target,
            lambda: self.concept.AnalyzeAudio(request, timeout=self.settings.concept_deadline_s),
            "concept",
        )
        concept: concept_pb2.Concept = result.concept
        if not concept.key_moments:
            raise StageError("concept", "the concept has no key moments to draw", False)
        await self._db(
            self.db.update_fenced,
            run.project_id,
            self.owner,
            concept=concept.SerializeToString(),
            updated_at=now(),
        )
        return concept

    async def _seeder_stage(
        self,
        run: Run,
        concept: concept_pb2.Concept,
        existing: seeder_pb2.GenerateKeyframesResult | None,
        redraw: list[str],
    ) -> seeder_pb2.GenerateKeyframesResult:
        spec = run.row.spec
        overrides = run.row.overrides
        prompt_overrides: dict[str, str] = dict(overrides.get("prompt_overrides", {}))
        keyframe_seeds: dict[str, int] = {
            k: int(v) for k, v in overrides.get("keyframe_seeds", {}).items()
        }
        only = redraw if existing is not None else []
        seed = spec.options.seed
        if len(only) == 1 and only[0] in keyframe_seeds:
            seed = keyframe_seeds[only[0]]
        request = seeder_pb2.GenerateKeyframesRequest(
            project_id=run.project_id,
            concept=concept,
            character_images=list(spec.character_images),
            width=spec.options.width,
            height=spec.options.height,
            seed=seed,
            style=spec.options.style,
            key_moment_ids=only,
            prompt_overrides={k: v for k, v in prompt_overrides.items() if not only or k in only},
        )
        what = f"re-drawing {len(only)} keyframe(s)" if only else "drawing keyframes"
        await self._progress(run, "seeder", 0.0, what)
        result = await self._run_simple_stage(
            run,
            "seeder",
            self.settings.seeder_target,
            lambda: self.seeder.GenerateKeyframes(request, timeout=self.settings.seeder_deadline_s),
            "seeder",
        )
        if only and existing is not None:
            fresh = {k.key_moment_id: k for k in result.keyframes}
            merged = seeder_pb2.GenerateKeyframesResult()
            merged.CopyFrom(existing)
            for kf in merged.keyframes:
                if kf.key_moment_id in fresh:
                    kf.CopyFrom(fresh[kf.key_moment_id])
            result = merged
        if not result.keyframes:
            raise StageError("seeder", "the seeder returned no keyframes", False)
        new_overrides = dict(overrides)
        new_overrides["redraw"] = []
        await self._db(
            self.db.update_fenced,
            run.project_id,
            self.owner,
            keyframes=result.SerializeToString(),
            overrides=json.dumps(new_overrides),
            updated_at=now(),
        )
        run.row.overrides = new_overrides
        return result  # type: ignore[no-any-return]

    def _segment_request(
        self,
        run: Run,
        concept: concept_pb2.Concept,
        keyframes: list[seeder_pb2.Keyframe],
        seg: PlannedSegment,
        video: common_pb2.VideoSettings,
    ) -> animator_pb2.RenderSegmentRequest:
        seeds = run.row.overrides.get("segment_seeds", {})
        # Wrap into int64: a seed near the top of the range must not overflow the proto field.
        seed = int(seeds.get(str(seg.index), (run.row.spec.options.seed + seg.index) % 2**63))
        return animator_pb2.RenderSegmentRequest(
            project_id=run.project_id,
            segment_index=seg.index,
            start_frame=seg.start_frame,
            end_frame=seg.end_frame,
            from_keyframe=keyframes[seg.from_keyframe],
            to_keyframe=keyframes[seg.to_keyframe],
            concept=concept,
            video=video,
            seed=seed,
        )

    async def _segments_stage(
        self,
        run: Run,
        stage: str,
        concept: concept_pb2.Concept,
        keyframes: list[seeder_pb2.Keyframe],
        plan: list[PlannedSegment],
        video: common_pb2.VideoSettings,
    ) -> list[animator_pb2.Segment]:
        concept_hash = hashing.message_hash(concept)
        existing = {t.idx: t for t in await self._db(self.db.get_tasks, run.project_id, [stage])}
        if any(idx >= len(plan) for idx in existing):
            await self._db(self.db.delete_tasks_from, self.owner, run.project_id, stage, len(plan))
        results: dict[int, animator_pb2.Segment] = {}
        to_render: list[tuple[PlannedSegment, animator_pb2.RenderSegmentRequest, str]] = []
        updates: list[tuple[int, dict[str, Any]]] = []
        for seg in plan:
            request = self._segment_request(run, concept, keyframes, seg, video)
            inputs = hashing.segment_inputs_hash(request, concept_hash)
            task = existing.get(seg.index)
            if (
                task is not None
                and task.status == "done"
                and task.input_hash == inputs
                and task.output
            ):
                segment = animator_pb2.Segment()
                segment.ParseFromString(task.output)
                if await asyncio.to_thread(self.store.exists, segment.video.key):
                    results[seg.index] = segment
                    updates.append((seg.index, {"reused_inc": 1}))
                    continue
            to_render.append((seg, request, inputs))
            updates.append(
                (
                    seg.index,
                    {"status": "pending", "input_hash": inputs, "error": "", "retryable": False},
                )
            )
        # One transaction for the whole plan rather than one per segment.
        await self._db(self.db.upsert_tasks, self.owner, run.project_id, stage, updates)
        total = len(plan)
        run.segment_fraction = {i: 1.0 for i in results}
        await self._progress(
            run,
            "animator",
            len(results) / total,
            f"rendering {len(to_render)} of {total} segments ({len(results)} reused)",
            len(results),
            total,
        )
        try:
            async with asyncio.TaskGroup() as group:
                running = {
                    seg.index: group.create_task(
                        self._render_one(run, stage, seg, request, inputs, total)
                    )
                    for seg, request, inputs in to_render
                }
        except BaseExceptionGroup as group_exc:
            # The first segment that failed for good cancels the others; report that one.
            for exc in group_exc.exceptions:
                if isinstance(exc, (StageError, LeaseLost)):
                    raise exc from None
            raise
        for index, rendered in running.items():
            results[index] = rendered.result()
        return [results[seg.index] for seg in plan]

    async def _render_one(
        self,
        run: Run,
        stage: str,
        seg: PlannedSegment,
        request: animator_pb2.RenderSegmentRequest,
        inputs: str,
        total: int,
    ) -> animator_pb2.Segment:
        """Render one segment: retries with backoff on transient errors, on another replica if
        there is one (the failed replica is avoided and marked down for a few seconds)."""
        avoid: set[str] = set()
        started = now()
        last: grpc.aio.AioRpcError | None = None
        tried: list[str] = []
        for attempt in range(1, self.config.max_attempts + 1):
            result: animator_pb2.RenderSegmentResult | None = None
            failed = False
            async with self.pool.slot(run.project_id, frozenset(avoid)) as replica:
                tried.append(replica.target)
                await self._task(
                    run,
                    stage,
                    seg.index,
                    status="running",
                    attempts_inc=1,
                    replica=replica.target,
                    started_at=now(),
                )
                run.segment_fraction[seg.index] = 0.0
                try:
                    call = replica.stub.RenderSegment(
                        request, timeout=self.settings.segment_deadline_s
                    )
                    async for event in call:
                        kind = event.WhichOneof("event")
                        if kind == "progress":
                            run.segment_fraction[seg.index] = event.progress.fraction
                            await self._segment_progress(run, total)
                        elif kind == "result":
                            result = event.result
                    replica.served += 1
                except grpc.aio.AioRpcError as exc:
                    last, failed = exc, True
                    if exc.code() == grpc.StatusCode.UNAVAILABLE:
                        self.pool.mark_down(replica)
                    log.warning(
                        "segment %d of %s failed on %s (attempt %d): %s %s",
                        seg.index,
                        run.project_id,
                        replica.target,
                        attempt,
                        exc.code().name,
                        exc.details(),
                    )
                    avoid.add(replica.target)
                    if len(avoid) >= len(self.pool.replicas):
                        # Every replica failed once: only avoid the one that failed last.
                        avoid = {replica.target} if len(self.pool.replicas) > 1 else set()
            if failed:
                assert last is not None
                if not is_retryable(last) or attempt == self.config.max_attempts:
                    break
                await asyncio.sleep(self._backoff(attempt))
                continue
            if result is None:
                raise StageError(
                    "animator",
                    f"segment {seg.index}: the animator ended its stream without a result",
                    True,
                )
            segment = result.segment
            if segment.start_frame != seg.start_frame or segment.end_frame != seg.end_frame:
                raise StageError(
                    "animator",
                    f"segment {seg.index}: animator returned frames "
                    f"[{segment.start_frame}, {segment.end_frame}), expected "
                    f"[{seg.start_frame}, {seg.end_frame})",
                    False,
                )
            await self._task_done(
                run,
                stage,
                seg.index,
                started,
                output=segment.SerializeToString(),
                input_hash=inputs,
            )
            run.segment_fraction[seg.index] = 1.0
            await self._segment_progress(run, total)
            return segment
        # Out of attempts, or a terminal error.
        assert last is not None
        retryable = is_retryable(last)
        message = rpc_message(f"animator (segment {seg.index})", last, ", ".join(tried))
        if retryable:
            message += f" after {len(tried)} attempts"
        await self._task_failed(run, stage, seg.index, started, message, retryable)
        raise StageError("animator", message, retryable)

    async def _segment_progress(self, run: Run, total: int) -> None:
        done = sum(1 for f in run.segment_fraction.values() if f >= 1.0)
        within = sum(run.segment_fraction.values()) / total
        await self._progress(
            run, "animator", within, f"segments {done}/{total} rendered", done, total
        )

    async def _compose_stage(
        self,
        run: Run,
        preview: bool,
        segments: list[animator_pb2.Segment],
        video: common_pb2.VideoSettings,
        total: int,
    ) -> common_pb2.ArtifactRef:
        spec = run.row.spec
        output_key = f"outputs/{run.project_id}/preview.mp4" if preview else ""
        request = animator_pb2.ComposeVideoRequest(
            project_id=run.project_id,
            segments=segments,
            audio=spec.audio,
            video=video,
            total_frames=total,
            output_key=output_key,
        )
        inputs = hashing.compose_inputs_hash(request)
        stored, stored_hash = (
            (run.row.preview_video, run.row.preview_hash)
            if preview
            else (run.row.final_video, run.row.final_hash)
        )
        if (
            stored is not None
            and stored_hash == inputs
            and await asyncio.to_thread(self.store.exists, stored.key)
        ):
            return stored
        stage = "preview_compose" if preview else "compose"
        await self._progress(run, "compose", 0.0, "composing the video with the song")

        async def attempt(n: int) -> Any:
            async with self.pool.slot(run.project_id) as chosen:
                await self._task(
                    run,
                    stage,
                    0,
                    status="running",
                    attempts_inc=1,
                    started_at=now(),
                    replica=chosen.target,
                )

                async def on_progress(p: common_pb2.Progress) -> None:
                    await self._progress(run, "compose", p.fraction, p.message or "composing")

                try:
                    return await self._stream_result(
                        "compose",
                        chosen.stub.ComposeVideo(request, timeout=self.settings.compose_deadline_s),
                        on_progress,
                    )
                except grpc.aio.AioRpcError as exc:
                    if exc.code() == grpc.StatusCode.UNAVAILABLE:
                        self.pool.mark_down(chosen)
                    raise

        started = now()
        try:
            result = await self._retrying("compose", attempt, "")
            if result.frame_count and result.frame_count != total:
                raise StageError(
                    "compose",
                    f"composed video has {result.frame_count} frames, expected {total}",
                    False,
                )
        except StageError as exc:
            await self._task_failed(run, stage, 0, started, exc.message, exc.retryable)
            raise
        await self._task_done(run, stage, 0, started, input_hash=inputs)
        ref: common_pb2.ArtifactRef = result.video
        column = "preview" if preview else "final"
        await self._db(
            self.db.update_fenced,
            run.project_id,
            self.owner,
            **{
                f"{column}_video": ref.SerializeToString(),
                f"{column}_hash": inputs,
                "updated_at": now(),
            },
        )
        return ref
