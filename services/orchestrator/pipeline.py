"""The pipeline of one project run: its steps, in the order of the pipeline table.

`Pipeline` gets its dependencies injected and `Engine` (engine.py), which owns the process-wide
parts (queue, leases, watchers), composes it. The run loop walks `stages.PIPELINE`: each stage
has one step here, and reaching the state of a finished stage is persisted then published
(reporting.py). Each step is skipped when its stored output still matches its inputs, which is
what makes resume (after a crash or a lease takeover), regenerate (only changed segments
re-render) and a full render after a preview cheap.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from lumiere.v1 import (
    animator_pb2,
    common_pb2,
    concept_pb2,
    concept_pb2_grpc,
    orchestrator_pb2,
    seeder_pb2,
    seeder_pb2_grpc,
)

from services.common import contract, stages
from services.common.errors import InvalidInput
from services.common.settings import Settings
from services.common.stages import ACTIVE_STATES, TERMINAL_STATES, StageValue
from services.common.storage import ArtifactStore
from services.orchestrator import hashing, keyframe_plan, storyboards
from services.orchestrator.clock import now
from services.orchestrator.config import OrchestratorConfig
from services.orchestrator.db import ProjectDB
from services.orchestrator.events import Hub
from services.orchestrator.pool import AnimatorPool
from services.orchestrator.reporting import Run, RunReporter, TaskLog
from services.orchestrator.retry import OnAttempt, RetryPolicy, StageError
from services.orchestrator.segments import SegmentRenderer
from services.orchestrator.stage_calls import StageCalls
from services.orchestrator.timeline import plan_segments
from services.orchestrator.video import full_settings, preview_settings

log = logging.getLogger(__name__)
PS = orchestrator_pb2.ProjectState
# A step runs one stage of a run and says, for a person, what it made.
Step = Callable[[Run], Awaitable[str]]


class Pipeline:
    def __init__(
        self,
        *,
        owner: str,
        settings: Settings,
        config: OrchestratorConfig,
        store: ArtifactStore,
        db: ProjectDB,
        hub: Hub,
        pool: AnimatorPool,
        concept: concept_pb2_grpc.ConceptServiceStub,
        seeder: seeder_pb2_grpc.SeederServiceStub,
        on_finishing: Callable[[str], None],
    ) -> None:
        self.owner = owner
        self.config = config
        self.store = store
        self.db = db
        self.retry = RetryPolicy.from_config(config)
        self.calls = StageCalls(settings, concept, seeder, pool, self.retry)
        self.report = RunReporter(db, hub, owner, config.progress_persist_s, on_finishing)
        self.segments = SegmentRenderer(self.calls, self.report, store)
        self.steps: dict[StageValue, Step] = {
            common_pb2.STAGE_CONCEPT: self._concept,
            common_pb2.STAGE_SEEDER: self._keyframes,
            common_pb2.STAGE_ANIMATOR: self._animate,
            common_pb2.STAGE_COMPOSE: self._compose,
        }
        missing = [s.name for s in stages.PIPELINE if s.stage not in self.steps]
        if missing:
            raise RuntimeError(f"no pipeline step for stage(s) {missing}")

    async def run(self, project_id: str) -> None:
        """Run (or resume) the queued run of a project whose lease this replica holds."""
        row = await asyncio.to_thread(self.db.get, project_id)
        if row is None or row.lease_owner != self.owner or row.run_requested_at is None:
            return
        kind = (
            common_pb2.RUN_KIND_PREVIEW
            if row.run_kind == common_pb2.RUN_KIND_PREVIEW
            else common_pb2.RUN_KIND_FULL
        )
        run = Run(row, row.state, kind, TaskLog(self.db.tasks, self.owner, project_id))
        try:
            if run.state not in ACTIVE_STATES:
                await self.report.reached(run, PS.PROJECT_STATE_PROCESSING, "started")
            for spec in stages.PIPELINE:
                message = await self.steps[spec.stage](run)
                if spec.reaches in TERMINAL_STATES:
                    await self.report.completed(run, message)
                else:
                    await self.report.reached(run, spec.reaches, message)
            log.info("project %s completed (%s)", project_id, stages.run_kind_name(row.run_kind))
        except StageError as exc:
            stage = stages.stage_name(exc.stage)
            log.warning("project %s failed in %s: %s", project_id, stage, exc.message)
            await self.report.failed(project_id, exc.stage, exc.message, exc.retryable)

    async def fail(self, project_id: str, stage: StageValue, message: str, retryable: bool) -> None:
        """End a run as failed from outside its steps (the orchestrator itself crashed)."""
        await self.report.failed(project_id, stage, message, retryable)

    # -- steps ----------------------------------------------------------------------------------

    async def _concept(self, run: Run) -> str:
        concept = run.row.concept
        if concept is None:
            concept = await self._analyze(run)
        run.concept = concept
        if concept.storyboard.shots:
            # Every run (cheap): the artifact follows the plan in use even after a crash
            # between storing the concept and writing it.
            await asyncio.to_thread(
                self.store.put_bytes,
                contract.storyboard_key(run.project_id),
                storyboards.storyboard_json(concept.storyboard).encode(),
                "application/json",
            )
        shots = len(concept.storyboard.shots)
        return (
            f"concept ready: {concept.tempo_bpm:.0f} BPM, {len(concept.key_moments)} key "
            f"moments, {shots} shots"
        )

    async def _analyze(self, run: Run) -> concept_pb2.Concept:
        spec = run.row.spec
        request = concept_pb2.AnalyzeAudioRequest(
            project_id=run.project_id,
            audio=spec.audio,
            prompt=spec.prompt,
            key_moment_count=spec.options.key_moment_count,
            lyrics=spec.lyrics if spec.HasField("lyrics") else None,
            seed=spec.options.seed,
            has_characters=bool(spec.character_images),
        )
        stage = common_pb2.STAGE_CONCEPT
        await self.report.progress(run, stage, 0.0, "analysing the music")
        key = run.task_key(stage)

        async def call(on_attempt: OnAttempt) -> concept_pb2.Concept:
            result = await self.calls.analyze(request, on_attempt, self._progress(run, stage))
            if not result.concept.key_moments:
                raise StageError(stage, "the concept has no key moments to draw", False)
            return result.concept

        concept = await run.tasks.call(key, call)
        if spec.HasField("initial_storyboard"):
            concept = self._with_initial_storyboard(concept, spec)
        await run.tasks.done(key)
        await asyncio.to_thread(self.db.save_concept, run.project_id, self.owner, concept, now())
        return concept

    def _with_initial_storyboard(
        self, concept: concept_pb2.Concept, spec: orchestrator_pb2.Project
    ) -> concept_pb2.Concept:
        """The concept with the storyboard given at create in place of the director's plan."""
        try:
            board = storyboards.checked(
                spec.initial_storyboard, concept, spec.options.fps, self.config.max_prompt_chars
            )
        except InvalidInput as exc:
            raise StageError(
                common_pb2.STAGE_CONCEPT,
                f"the storyboard given at create does not fit the song: {exc}",
                False,
            ) from exc
        out = concept_pb2.Concept()
        out.CopyFrom(concept)
        out.storyboard.CopyFrom(board)
        return out

    async def _keyframes(self, run: Run) -> str:
        """All keyframes, or only the ones a regenerate or a storyboard edit made stale."""
        assert run.concept is not None
        keyframes = run.row.keyframes
        board = run.concept.storyboard
        shots = keyframe_plan.shots_to_draw(keyframes, board, run.row.overrides.redraw_shots)
        if keyframes is None or run.row.overrides.redraw or shots:
            keyframes = await self._draw(run, keyframes, shots)
        else:
            kept = keyframe_plan.pruned(keyframes, board)
            if kept is not None:  # cuts were removed: their keyframes go
                keyframes = kept
                await asyncio.to_thread(
                    self.db.save_keyframes,
                    run.project_id,
                    self.owner,
                    keyframes,
                    run.row.overrides,
                    now(),
                )
        run.keyframes = keyframes
        return f"{len(keyframes.keyframes)} keyframes ready"

    async def _draw(
        self, run: Run, existing: seeder_pb2.GenerateKeyframesResult | None, shots: list[str]
    ) -> seeder_pb2.GenerateKeyframesResult:
        assert run.concept is not None
        spec, overrides = run.row.spec, run.row.overrides
        only = list(overrides.redraw) if existing is not None else []
        board = run.concept.storyboard
        # Only some shots: name them; all of them (or a first drawing): the seeder's default.
        some_shots = (
            shots if existing is not None and set(shots) != set(storyboards.shot_ids(board)) else []
        )
        request = seeder_pb2.GenerateKeyframesRequest(
            project_id=run.project_id,
            concept=run.concept,
            character_images=list(spec.character_images),
            width=spec.options.width,
            height=spec.options.height,
            seed=overrides.keyframe_seed(only, spec.options.seed),
            style=spec.options.style,
            key_moment_ids=only,
            prompt_overrides=overrides.prompts_for(only),
            shot_ids=some_shots,
            backend=spec.options.keyframe_backend,
        )
        stage = common_pb2.STAGE_SEEDER
        partial = len(some_shots) or len(only)
        what = f"re-drawing {partial} keyframe(s)" if partial else "drawing keyframes"
        await self.report.progress(run, stage, 0.0, what)
        key = run.task_key(stage)

        async def call(on_attempt: OnAttempt) -> seeder_pb2.GenerateKeyframesResult:
            result = await self.calls.keyframes(request, on_attempt, self._progress(run, stage))
            if existing is not None and keyframe_plan.by_shot(result):
                result = keyframe_plan.merged_shots(existing, result, board)
            elif existing is not None and only:
                result = _merged(existing, result)
            if not result.keyframes:
                raise StageError(stage, "the seeder returned no keyframes", False)
            return result

        keyframes = await run.tasks.call(key, call)
        await run.tasks.done(key)
        drawn = overrides.drawn()
        await asyncio.to_thread(
            self.db.save_keyframes, run.project_id, self.owner, keyframes, drawn, now()
        )
        run.row.overrides = drawn
        return keyframes

    async def _animate(self, run: Run) -> str:
        assert run.concept is not None and run.keyframes is not None
        options = run.row.spec.options
        run.video = (
            preview_settings(options, self.config.preview_width, self.config.preview_fps)
            if run.preview
            else full_settings(options)
        )
        keyframes = sorted(run.keyframes.keyframes, key=lambda k: k.time)
        try:
            run.plan = plan_segments(
                run.concept.duration_seconds, run.video.fps, [k.time for k in keyframes]
            )
        except InvalidInput as exc:
            raise StageError(
                common_pb2.STAGE_ANIMATOR, f"cannot plan the timeline: {exc}", False
            ) from exc
        frames = run.plan[-1].end_frame
        if frames > contract.MAX_TOTAL_FRAMES:
            raise StageError(
                common_pb2.STAGE_ANIMATOR,
                f"the video would have {frames} frames; the limit is {contract.MAX_TOTAL_FRAMES}",
                False,
            )
        run.segments = await self.segments.render_all(run, run.concept, keyframes)
        return f"{len(run.segments)} segments rendered"

    async def _compose(self, run: Run) -> str:
        done = "preview ready" if run.preview else "video ready"
        total = run.plan[-1].end_frame
        request = animator_pb2.ComposeVideoRequest(
            project_id=run.project_id,
            segments=run.segments,
            audio=run.row.spec.audio,
            video=run.video,
            total_frames=total,
            output_key=(
                contract.preview_video_key(run.project_id)
                if run.preview
                else contract.final_video_key(run.project_id)
            ),
        )
        inputs = hashing.compose_inputs_hash(request)
        stored, stored_hash = run.row.video(run.kind)
        if (
            stored is not None
            and stored_hash == inputs
            and await asyncio.to_thread(self.store.exists, stored.key)
        ):
            return done
        stage = common_pb2.STAGE_COMPOSE
        await self.report.progress(run, stage, 0.0, "composing the video with the song")
        key = run.task_key(stage)

        async def call(on_attempt: OnAttempt) -> common_pb2.ArtifactRef:
            result = await self.calls.compose(request, on_attempt, self._progress(run, stage))
            if result.frame_count and result.frame_count != total:
                raise StageError(
                    stage,
                    f"composed video has {result.frame_count} frames, expected {total}",
                    False,
                )
            return result.video

        video = await run.tasks.call(key, call)
        await run.tasks.done(key, input_hash=inputs)
        await asyncio.to_thread(
            self.db.save_video, run.project_id, self.owner, run.kind, video, inputs, now()
        )
        return done

    def _progress(
        self, run: Run, stage: StageValue
    ) -> Callable[[common_pb2.Progress], Awaitable[None]]:
        """A stage call's progress events, reported as the run's progress."""
        label = stages.stage_name(stage)

        async def on_progress(p: common_pb2.Progress) -> None:
            await self.report.progress(run, stage, p.fraction, p.message or label, p.done, p.total)

        return on_progress


def _merged(
    existing: seeder_pb2.GenerateKeyframesResult, fresh: seeder_pb2.GenerateKeyframesResult
) -> seeder_pb2.GenerateKeyframesResult:
    """The stored keyframes with the re-drawn ones replaced."""
    by_moment = {k.key_moment_id: k for k in fresh.keyframes}
    merged = seeder_pb2.GenerateKeyframesResult()
    merged.CopyFrom(existing)
    for kf in merged.keyframes:
        if kf.key_moment_id in by_moment:
            kf.CopyFrom(by_moment[kf.key_moment_id])
    if fresh.HasField("contact_sheet"):
        merged.contact_sheet.CopyFrom(fresh.contact_sheet)
    return merged
