"""What each OrchestratorService RPC does, on top of the engine and the database."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import random
from collections.abc import Sequence

from lumiere.v1 import common_pb2, concept_pb2, orchestrator_pb2, seeder_pb2

from services.common import contract
from services.common.errors import AlreadyExists, FailedPrecondition, InvalidInput, NotFound
from services.common.stages import ACTIVE_STATES, TERMINAL_STATES, run_kind_name, state_name
from services.orchestrator import storyboards, validation
from services.orchestrator.clock import now
from services.orchestrator.convert import project_to_proto
from services.orchestrator.engine import Engine
from services.orchestrator.events import event_from_row
from services.orchestrator.overrides import RunOverrides
from services.orchestrator.rows import ProjectRow, RunKindValue
from services.orchestrator.timeline import PlannedSegment, plan_segments

log = logging.getLogger(__name__)
PS = orchestrator_pb2.ProjectState
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class Operations:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.db = engine.db

    async def _row(self, project_id: str) -> ProjectRow:
        if not project_id:
            raise InvalidInput("project_id is required")
        row = await self.engine.api(self.db.get, project_id)
        if row is None:
            raise NotFound(f"project {project_id} not found")
        return row

    async def project(self, project_id: str) -> orchestrator_pb2.Project:
        if not project_id:
            raise InvalidInput("project_id is required")
        found = await self.engine.api(self.db.get_with_tasks, project_id)
        if found is None:
            raise NotFound(f"project {project_id} not found")
        return project_to_proto(*found)

    async def create(self, req: orchestrator_pb2.CreateProjectRequest) -> orchestrator_pb2.Project:
        spec = validation.project_spec(
            req,
            self.engine.config.max_prompt_chars,
            self.engine.settings.allowed_shot_backends(),
        )
        for name, ref in validation.input_refs(spec):
            if not await self.engine.api(self.engine.store.exists, ref.key):
                raise InvalidInput(
                    f"{name} artifact {ref.key!r} is not in the store: upload it first"
                )
        if not await self.engine.api(self.db.insert_project, spec.id, spec.prompt, spec, now()):
            raise AlreadyExists(f"project {spec.id} already exists")
        return await self.project(spec.id)

    async def list(
        self, page_size: int, page_token: str
    ) -> tuple[list[orchestrator_pb2.Project], str]:
        if page_size < 0:
            raise InvalidInput(f"page_size must be >= 0, got {page_size}")
        size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        after = None
        if page_token:
            try:
                created, pid = json.loads(base64.urlsafe_b64decode(page_token.encode()))
                after = (float(created), str(pid))
            except Exception:  # noqa: BLE001 - any garbage token is the caller's mistake
                raise InvalidInput("page_token is not one this service issued") from None
        rows = await self.engine.api(self.db.list_page, size + 1, after)
        more = len(rows) > size
        rows = rows[:size]
        token = ""
        if more and rows:
            token = base64.urlsafe_b64encode(
                json.dumps([rows[-1].created_at, rows[-1].id]).encode()
            ).decode()
        # The list carries no task details (GetProject has them); it stays one query.
        return [project_to_proto(r) for r in rows], token

    async def process(self, project_id: str) -> orchestrator_pb2.Project:
        row = await self._row(project_id)
        if row.run_requested_at is not None and row.run_kind != common_pb2.RUN_KIND_FULL:
            # Accepting would silently drop the full render behind the running preview/regenerate.
            raise FailedPrecondition(
                f"project {project_id} is running a {run_kind_name(row.run_kind)}; wait for it "
                "to finish or cancel it, then process again"
            )
        if row.run_requested_at is not None:
            return await self.project(project_id)  # already queued or running: idempotent
        edited = row.overrides.storyboard_edited
        if row.state == PS.PROJECT_STATE_COMPLETED and row.final_video is not None and not edited:
            return await self.project(project_id)  # nothing to do
        # An active state without a queued run (should not happen) is re-queued, not stuck.
        await self._queue(
            row,
            common_pb2.RUN_KIND_FULL,
            allowed=(PS.PROJECT_STATE_CREATED, *TERMINAL_STATES, *ACTIVE_STATES),
            overrides=row.overrides.queued_full() if edited else None,
        )
        return await self.project(project_id)

    async def preview(self, project_id: str) -> orchestrator_pb2.Project:
        row = await self._row(project_id)
        if row.run_requested_at is not None or row.state in ACTIVE_STATES:
            raise FailedPrecondition(
                f"project {project_id} is processing; cancel it or wait before a preview"
            )
        await self._queue(
            row, common_pb2.RUN_KIND_PREVIEW, allowed=(PS.PROJECT_STATE_CREATED, *TERMINAL_STATES)
        )
        return await self.project(project_id)

    async def _queue(
        self,
        row: ProjectRow,
        kind: RunKindValue,
        allowed: tuple[int, ...],
        overrides: RunOverrides | None = None,
        concept: concept_pb2.Concept | None = None,
    ) -> None:
        updated = await self.engine.api(
            self.db.request_run, row.id, kind, now(), allowed, overrides, concept
        )
        if updated is None:
            fresh = await self._row(row.id)
            if fresh.run_requested_at is not None:
                return  # someone else queued it at the same time
            raise FailedPrecondition(
                f"project {row.id} is {state_name(fresh.state)} and cannot start a "
                f"{run_kind_name(kind)} run"
            )
        self.engine.hub.publish(event_from_row(updated, "queued"))
        self.engine.wake()

    async def cancel(self, project_id: str) -> orchestrator_pb2.Project:
        row = await self._row(project_id)
        if row.state in TERMINAL_STATES and row.run_requested_at is None:
            raise FailedPrecondition(
                f"project {project_id} already finished ({state_name(row.state)})"
            )
        # Persist first (this also drops the lease, so a replica running it elsewhere stops at
        # its next write or heartbeat), then stop a local run at once.
        await self.engine.api(self.db.cancel, project_id, now())
        task = self.engine.cancel_local(project_id, "cancel")
        if task is not None:
            await asyncio.wait({task}, timeout=5)
        fresh = await self._row(project_id)
        self.engine.hub.publish(event_from_row(fresh, "cancelled"))
        return await self.project(project_id)

    async def delete(self, project_id: str) -> int:
        await self._row(project_id)
        await self.engine.api(self.db.cancel, project_id, now())
        task = self.engine.cancel_local(project_id, "delete")
        if task is not None:
            await asyncio.wait({task}, timeout=5)
        await self.engine.api(self.db.delete, project_id)
        removed = 0
        for prefix in contract.project_prefixes(project_id):
            removed += await self.engine.api(self.engine.store.delete_prefix, prefix)
        self.engine.hub.publish(
            orchestrator_pb2.WatchProjectEvent(
                project_id=project_id, state=PS.PROJECT_STATE_CANCELLED, message="project deleted"
            )
        )
        return removed

    async def regenerate(
        self, req: orchestrator_pb2.RegenerateSegmentRequest
    ) -> orchestrator_pb2.Project:
        row = await self._row(req.project_id)
        if row.run_requested_at is not None or row.state in ACTIVE_STATES:
            raise FailedPrecondition(f"project {row.id} is processing; wait for it to finish")
        what = "a shot" if req.shot_id else "a segment"
        if row.concept is None or row.keyframes is None:
            raise FailedPrecondition(
                f"project {row.id} has no keyframes yet; process it before regenerating {what}"
            )
        prompt = req.prompt.strip()
        if len(prompt) > self.engine.config.max_prompt_chars:
            raise InvalidInput(
                f"prompt is {len(prompt)} characters; the limit is "
                f"{self.engine.config.max_prompt_chars}"
            )
        keyframes = sorted(row.keyframes.keyframes, key=lambda k: k.time)
        plan = plan_segments(
            row.concept.duration_seconds, row.spec.options.fps, [k.time for k in keyframes]
        )
        shot_id = req.shot_id
        if not shot_id and 0 <= req.segment_index < len(plan):
            # A segment that opens a storyboard shot: a prompt is that shot's new prompt.
            opened = keyframes[plan[req.segment_index].from_keyframe].shot_id
            shot_id = opened if prompt and opened else ""
        if shot_id:
            return await self._regenerate_shot(row, shot_id, prompt, req, keyframes, plan)
        if not 0 <= req.segment_index < len(plan):
            raise InvalidInput(
                f"segment_index {req.segment_index} is out of range: the project has "
                f"{len(plan)} segments (0-{len(plan) - 1})"
            )
        moment = keyframes[plan[req.segment_index].from_keyframe].key_moment_id
        # A regenerate without a new seed still gives a new take of the segment.
        seed = req.seed if req.HasField("seed") else random.randrange(1, 2**31)
        overrides = row.overrides.regenerate(
            req.segment_index, seed, moment, prompt, req.seed if req.HasField("seed") else None
        )
        await self._queue(
            row, common_pb2.RUN_KIND_REGENERATE, allowed=tuple(TERMINAL_STATES), overrides=overrides
        )
        return await self.project(row.id)

    async def _regenerate_shot(
        self,
        row: ProjectRow,
        shot_id: str,
        prompt: str,
        req: orchestrator_pb2.RegenerateSegmentRequest,
        keyframes: Sequence[seeder_pb2.Keyframe],
        plan: Sequence[PlannedSegment],
    ) -> orchestrator_pb2.Project:
        """A new take of one shot: the shot's prompt and/or seed change in the storyboard, its
        keyframe is re-drawn and its segment re-rendered (with the same seed)."""
        assert row.concept is not None
        concept = concept_pb2.Concept()
        concept.CopyFrom(row.concept)
        shot = storyboards.find_shot(concept.storyboard, shot_id)
        seed = req.seed if req.HasField("seed") else random.randrange(1, 2**31)
        if prompt:
            shot.prompt = prompt
        shot.seed = seed
        concept.storyboard.source = storyboards.USER_SOURCE
        segment = next(
            (s.index for s in plan if keyframes[s.from_keyframe].shot_id == shot_id), None
        )
        if segment is None:
            # Keyframes still per key moment: the segment the shot starts in.
            starts = [s for s in plan if s.start_frame <= _frame(shot.start_time, row)]
            segment = starts[-1].index if starts else 0
        overrides = row.overrides.shot_take(shot_id, segment, seed)
        await self._queue(
            row,
            common_pb2.RUN_KIND_REGENERATE,
            allowed=tuple(TERMINAL_STATES),
            overrides=overrides,
            concept=concept,
        )
        await self._store_storyboard(row.id, concept)
        return await self.project(row.id)

    async def update_storyboard(
        self, req: orchestrator_pb2.UpdateStoryboardRequest
    ) -> orchestrator_pb2.Project:
        row = await self._row(req.project_id)
        if row.run_requested_at is not None or row.state in ACTIVE_STATES:
            raise FailedPrecondition(
                f"project {row.id} is processing; wait for it to finish or cancel it before "
                "editing the storyboard"
            )
        if row.concept is None:
            raise FailedPrecondition(
                f"project {row.id} has no storyboard yet: process it first (or create a project "
                "with a storyboard)"
            )
        board = storyboards.checked(
            req.storyboard,
            row.concept,
            row.spec.options.fps,
            self.engine.config.max_prompt_chars,
            current=row.concept.storyboard,
        )
        stale = storyboards.redraws(row.concept.storyboard, board)
        concept = concept_pb2.Concept()
        concept.CopyFrom(row.concept)
        concept.storyboard.CopyFrom(board)
        saved = await self.engine.api(
            self.db.save_storyboard, row.id, concept, row.overrides.edited(stale), now()
        )
        if not saved:
            raise FailedPrecondition(
                f"project {row.id} started processing; edit the storyboard once it finishes"
            )
        await self._store_storyboard(row.id, concept)
        log.info("project %s: storyboard edited, %d shot(s) to re-draw", row.id, len(stale))
        return await self.project(row.id)

    async def _store_storyboard(self, project_id: str, concept: concept_pb2.Concept) -> None:
        await self.engine.api(
            self.engine.store.put_bytes,
            contract.storyboard_key(project_id),
            storyboards.storyboard_json(concept.storyboard).encode(),
            "application/json",
        )


def _frame(t: float, row: ProjectRow) -> int:
    return contract.time_to_frame(t, row.spec.options.fps)
