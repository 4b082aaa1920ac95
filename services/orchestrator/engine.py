"""The orchestrator engine: one per process — run queue, leases, watchers, lifecycle.

`ProcessProject` (and friends) only queue a run in the database; a scheduler loop on every
replica claims queued runs (leases, see db.py) up to the per-replica and global limits and runs
each as an asyncio task through the `Pipeline` (pipeline.py), in the order of the pipeline table
(services/common/stages.py).

A heartbeat renews this replica's leases; a run whose lease is gone (cancelled, deleted, taken
over) is stopped. On shutdown the leases are handed back so another replica resumes at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from lumiere.v1 import common_pb2, concept_pb2_grpc, orchestrator_pb2, seeder_pb2_grpc

from services.common import contract
from services.common.grpc_client import aio_channel
from services.common.settings import Settings
from services.common.storage import ArtifactStore
from services.orchestrator.clock import now
from services.orchestrator.config import OrchestratorConfig
from services.orchestrator.db import LeaseLost, ProjectDB
from services.orchestrator.events import Hub
from services.orchestrator.pipeline import Pipeline
from services.orchestrator.pool import AnimatorPool
from services.orchestrator.rows import ProjectRow
from services.orchestrator.watch import watch

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class LocalRun:
    """A run this replica is executing."""

    task: asyncio.Task[None]
    # Why it was cancelled: "cancel", "delete", "lease", "shutdown", "crash".
    reason: str = ""
    # Set just before the final write (which also drops the lease): the heartbeat must not take
    # the then-missing lease for a takeover and cancel the run mid-write.
    finishing: bool = False


class Engine:
    def __init__(
        self,
        settings: Settings,
        store: ArtifactStore,
        config: OrchestratorConfig | None = None,
        replica_id: str | None = None,
        db: ProjectDB | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.config = config or OrchestratorConfig()
        self.owner = replica_id or self.config.replica_id(settings.orchestrator_port)
        if db is None:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            db = ProjectDB(settings.sqlalchemy_url)
        self.db = db
        self.hub = Hub()
        self._local: dict[str, LocalRun] = {}
        self._wake = asyncio.Event()
        self._loops: list[asyncio.Task[None]] = []
        self._sweeps: set[asyncio.Task[None]] = set()
        self.started: asyncio.Task[None] | None = None
        self._stopping = False
        # API calls (GetProject polls above all) get their own threads, so status reads never
        # queue behind the pipeline's task/progress writes in the default executor.
        self._api_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="orchestrator-api")
        self._concept_channel = aio_channel(settings.concept_target)
        self._seeder_channel = aio_channel(settings.seeder_target)
        self.pool = AnimatorPool(settings.animator_targets, settings.animator_inflight_per_replica)
        self.pipeline = Pipeline(
            owner=self.owner,
            settings=settings,
            config=self.config,
            store=store,
            db=db,
            hub=self.hub,
            pool=self.pool,
            concept=concept_pb2_grpc.ConceptServiceStub(self._concept_channel),
            seeder=seeder_pb2_grpc.SeederServiceStub(self._seeder_channel),
            on_finishing=self._finishing,
        )

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        mine = await asyncio.to_thread(
            self.db.leases.reclaim_own, self.owner, now(), self.config.lease_s
        )
        for pid in mine:
            log.info("resuming project %s (our lease from a previous run)", pid)
            self._launch(pid)
        self._loops = [
            asyncio.create_task(self._scheduler(), name="orchestrator-scheduler"),
            asyncio.create_task(self._heartbeat(), name="orchestrator-heartbeat"),
        ]

    async def stop(self, release: bool = True) -> None:
        """Stop claiming, cancel local runs and hand their leases back for another replica.

        `release=False` behaves like a crash (tests): the leases stay until they expire.
        """
        self._stopping = True
        if self.started is not None:
            await asyncio.gather(self.started, return_exceptions=True)
        for loop_task in [*self._loops, *self._sweeps]:
            loop_task.cancel()
        for local in self._local.values():
            local.reason = local.reason or ("shutdown" if release else "crash")
            local.task.cancel()
        await asyncio.gather(*(lo.task for lo in self._local.values()), return_exceptions=True)
        await asyncio.gather(*self._loops, *self._sweeps, return_exceptions=True)
        await self._concept_channel.close()
        await self._seeder_channel.close()
        await self.pool.close()
        self._api_pool.shutdown(wait=True)
        await asyncio.to_thread(self.db.close)

    def wake(self) -> None:
        self._wake.set()

    async def api(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking work for an API call (DB reads, store checks) on the API threads."""
        return await asyncio.get_running_loop().run_in_executor(self._api_pool, fn, *args)

    def watch(self, project_id: str) -> AsyncIterator[orchestrator_pb2.WatchProjectEvent]:
        """Current state first, then every change until the project finishes."""

        async def read(pid: str) -> ProjectRow | None:
            return await self.api(self.db.get, pid)

        return watch(project_id, self.hub, read, self.config.poll_s * 2)

    def remove_files(self, project_id: str) -> int:
        """Delete every stored file of a project (blocking); how many there were."""
        return sum(
            self.store.delete_prefix(prefix) for prefix in contract.project_prefixes(project_id)
        )

    def sweep_later(self, project_id: str) -> None:
        """Remove a deleted project's files again a few times over the next seconds.

        Its run is cancelled before the first removal, but a stage service may finish writing
        the file it had in hand (a keyframe, a segment) after that; those late writes go here.
        """

        async def sweep() -> None:
            for delay in self.config.delete_sweeps_s:
                await asyncio.sleep(delay)
                if await self.api(self.db.get, project_id) is not None:
                    return  # a project of that id exists again: its files are its own
                late = await self.api(self.remove_files, project_id)
                if late:
                    log.info("removed %d late file(s) of deleted project %s", late, project_id)

        task = asyncio.create_task(sweep(), name=f"sweep-{project_id}")
        self._sweeps.add(task)
        task.add_done_callback(self._sweeps.discard)

    def cancel_local(self, project_id: str, reason: str) -> asyncio.Task[None] | None:
        local = self._local.get(project_id)
        if local is None or local.task.done():
            return None
        local.reason = reason
        local.task.cancel()
        return local.task

    # -- runs ---------------------------------------------------------------------------------

    async def _scheduler(self) -> None:
        while not self._stopping:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.config.poll_s)
            self._wake.clear()
            room = self.config.replica_max_projects - len(self._local)
            if room <= 0:
                continue
            try:
                ids = await asyncio.to_thread(
                    self.db.leases.claim,
                    self.owner,
                    now(),
                    self.config.lease_s,
                    room,
                    self.config.max_active_projects,
                )
            except Exception:  # noqa: BLE001 - a DB hiccup must not kill the scheduler
                log.exception("claiming projects failed; retrying")
                await asyncio.sleep(self.config.poll_s)
                continue
            for pid in ids:
                if pid not in self._local:
                    self._launch(pid)

    async def _heartbeat(self) -> None:
        interval = max(0.05, self.config.lease_s / 3)
        while not self._stopping:
            await asyncio.sleep(interval)
            ids = list(self._local)
            if not ids:
                continue
            try:
                held = await asyncio.to_thread(
                    self.db.leases.renew, self.owner, ids, now(), self.config.lease_s
                )
            except Exception:  # noqa: BLE001
                log.exception("renewing leases failed")
                continue
            for pid in ids:
                local = self._local.get(pid)
                if (
                    pid not in held
                    and local is not None
                    and not local.finishing
                    and not local.task.done()
                ):
                    log.warning("lost the lease on %s; stopping its run here", pid)
                    local.reason = local.reason or "lease"
                    local.task.cancel()

    def _launch(self, project_id: str) -> None:
        task = asyncio.create_task(self._run_guarded(project_id), name=f"run-{project_id}")
        self._local[project_id] = LocalRun(task)

    def _finishing(self, project_id: str) -> None:
        local = self._local.get(project_id)
        if local is not None:
            local.finishing = True

    async def _run_guarded(self, project_id: str) -> None:
        try:
            await self.pipeline.run(project_id)
        except asyncio.CancelledError:
            local = self._local.get(project_id)
            reason = local.reason if local else ""
            log.info("run of %s stopped (%s)", project_id, reason or "cancelled")
            if reason == "shutdown":
                with contextlib.suppress(Exception):
                    await asyncio.shield(
                        asyncio.to_thread(self.db.leases.release, self.owner, project_id)
                    )
        except LeaseLost:
            log.warning("run of %s stopped: lease lost", project_id)
        except Exception as exc:  # noqa: BLE001
            log.exception("run of %s crashed", project_id)
            with contextlib.suppress(Exception):
                await self.pipeline.fail(
                    project_id,
                    common_pb2.STAGE_UNSPECIFIED,
                    f"internal error ({type(exc).__name__}: {exc}); process the project again "
                    "to resume from the last finished step",
                    True,
                )
        finally:
            self._local.pop(project_id, None)
            self.wake()
