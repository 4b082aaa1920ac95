"""Real processes (`python -m services.<stage>`): crash an animator mid-render, crash and restart
the orchestrator mid-run, two orchestrators on one PostgreSQL database, many projects at once.

One set of stage processes (concept, seeder, two animators) is shared by the module; each test
starts its own orchestrator(s). Songs are short (10 s) and videos small so the module stays fast.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import av
import grpc
import pytest
from lumiere.v1 import common_pb2, orchestrator_pb2, orchestrator_pb2_grpc

from services.common.grpc_client import sync_channel
from services.common.stages import stage_name
from services.common.storage import LocalStore
from services.devstack.processes import ProcessStack, ServiceProcess
from services.orchestrator.db import ProjectDB
from tests.support.songs import write_short_song
from tests.support.tasks import is_segment_task

pytestmark = pytest.mark.integration
pb = orchestrator_pb2
PS = pb.ProjectState
FINISHED = {PS.PROJECT_STATE_COMPLETED, PS.PROJECT_STATE_FAILED, PS.PROJECT_STATE_CANCELLED}


@pytest.fixture(scope="module")
def stages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcessStack]:
    root = tmp_path_factory.mktemp("orchestrator-procs")
    stack = ProcessStack(root / "data", animators=2)
    write_short_song(root / "song.wav", seed=11)
    stack.song = root / "song.wav"  # type: ignore[attr-defined]
    try:
        stack.start_stages()
        yield stack
    finally:
        stack.stop_all()


def _stub(proc: ServiceProcess) -> orchestrator_pb2_grpc.OrchestratorServiceStub:
    return orchestrator_pb2_grpc.OrchestratorServiceStub(sync_channel(proc.address))


def _submit(
    stack: ProcessStack,
    stub: orchestrator_pb2_grpc.OrchestratorServiceStub,
    pid: str,
    width: int = 320,
    height: int = 180,
) -> None:
    store = LocalStore(stack.data_dir / "store")
    ref = store.put_file(f"uploads/{pid}/audio.wav", stack.song, "audio/wav")  # type: ignore[attr-defined]
    stub.CreateProject(
        pb.CreateProjectRequest(
            project_id=pid,
            prompt="a paper boat in a neon city",
            audio=ref,
            options=pb.ProjectOptions(width=width, height=height, fps=12, seed=1),
        )
    )
    stub.ProcessProject(pb.ProcessProjectRequest(project_id=pid))


def _get(stub: orchestrator_pb2_grpc.OrchestratorServiceStub, pid: str) -> pb.Project:
    return stub.GetProject(pb.GetProjectRequest(project_id=pid), timeout=5).project


def _wait_until(predicate, timeout: float, what: str, stack: ProcessStack | None = None):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except grpc.RpcError as exc:
            value, error = None, exc
        if value:
            return value
        time.sleep(0.02)
    logs = ""
    if stack is not None:
        logs = "\n".join(
            f"--- {p.log_path.name}\n{p.log_path.read_text(errors='replace')[-1500:]}"
            for p in stack.procs
            if p.log_path.exists()
        )
    raise TimeoutError(f"timed out waiting for {what} (last error: {error})\n{logs}")


def _frames(stack: ProcessStack, key: str) -> int:
    with av.open(str(stack.data_dir / "store" / key)) as container:
        return sum(1 for _ in container.decode(video=0))


def test_killed_animator_mid_render_still_completes(stages: ProcessStack) -> None:
    orch = stages.orchestrator(
        "orch-kill-animator",
        {
            "LUMIERE_ANIMATOR_INFLIGHT_PER_REPLICA": "1",
            "LUMIERE_ORCHESTRATOR_RETRY_BACKOFF_S": "0.2",
        },
    ).start()
    victim = stages.animator_procs[0]
    try:
        stub = _stub(orch)
        _submit(stages, stub, "kill-anim", 640, 360)

        def running_on_victim() -> pb.StageTask | None:
            project = _get(stub, "kill-anim")
            assert project.state not in FINISHED, (project.state, project.error)
            return next(
                (
                    t
                    for t in project.tasks
                    if t.stage == common_pb2.STAGE_ANIMATOR
                    and t.run_kind == common_pb2.RUN_KIND_FULL
                    and t.status == common_pb2.TASK_STATUS_RUNNING
                    and t.replica == victim.address
                ),
                None,
            )

        task = _wait_until(
            running_on_victim, 60, "a segment rendering on the first animator", stages
        )
        victim.kill()
        project = _wait_until(
            lambda: (p := _get(stub, "kill-anim")).state in FINISHED and p,
            90,
            "the project to finish",
            stages,
        )
        assert project.state == PS.PROJECT_STATE_COMPLETED, (project.failed_stage, project.error)
        moved = next(
            t
            for t in project.tasks
            if t.stage == common_pb2.STAGE_ANIMATOR
            and t.run_kind == common_pb2.RUN_KIND_FULL
            and t.index == task.index
        )
        # The interrupted segment was rendered again, on the surviving replica.
        assert moved.attempts >= 2, moved
        assert moved.replica == stages.animator_procs[1].address
        assert _frames(stages, project.final_video.key) == project.segments[-1].end_frame
    finally:
        orch.stop()
        victim.start()  # later tests get both animators back


def test_killed_orchestrator_resumes_without_rerendering(stages: ProcessStack) -> None:
    env = {"LUMIERE_ANIMATOR_INFLIGHT_PER_REPLICA": "1"}
    orch = stages.orchestrator("orch-resume", env).start()
    try:
        stub = _stub(orch)
        _submit(stages, stub, "resume-1", 640, 360)

        def some_done() -> pb.Project | None:
            project = _get(stub, "resume-1")
            assert project.state not in FINISHED, (project.state, project.error)
            done = [
                t
                for t in project.tasks
                if t.stage == common_pb2.STAGE_ANIMATOR
                and t.run_kind == common_pb2.RUN_KIND_FULL
                and t.status == common_pb2.TASK_STATUS_DONE
            ]
            total = [t for t in project.tasks if is_segment_task(t)]
            return project if 1 <= len(done) < len(total) else None

        before = _wait_until(some_done, 60, "some but not all segments rendered", stages)
        orch.kill()  # crash: no graceful shutdown, the lease stays on the dead process
        done_before = {
            t.index: t
            for t in before.tasks
            if t.stage == common_pb2.STAGE_ANIMATOR
            and t.run_kind == common_pb2.RUN_KIND_FULL
            and t.status == common_pb2.TASK_STATUS_DONE
        }
        orch.start()  # same replica id: takes its own lease back at once
        project = _wait_until(
            lambda: (p := _get(stub, "resume-1")).state in FINISHED and p, 90, "resumed run", stages
        )
        assert project.state == PS.PROJECT_STATE_COMPLETED, (project.failed_stage, project.error)
        after = {t.index: t for t in project.tasks if is_segment_task(t)}
        for index in done_before:
            assert after[index].renders == 1, after[index]  # not rendered again
            assert after[index].reused >= 1
        assert all(t.renders == 1 for t in after.values())
        assert {
            stage_name(t.stage): t.renders
            for t in project.tasks
            if t.stage in (common_pb2.STAGE_CONCEPT, common_pb2.STAGE_SEEDER)
        } == {
            "concept": 1,
            "seeder": 1,
        }
        assert _frames(stages, project.final_video.key) == project.segments[-1].end_frame
    finally:
        orch.stop()


def _run_many(stages: ProcessStack, pg_url: str, count: int, prefix: str) -> dict[str, object]:
    env = {
        "LUMIERE_DATABASE_URL": pg_url,
        "LUMIERE_ORCHESTRATOR_REPLICA_MAX_PROJECTS": "3",
        "LUMIERE_ORCHESTRATOR_MAX_ACTIVE_PROJECTS": "4",
    }
    orchs = [stages.orchestrator(f"{prefix}-a", env), stages.orchestrator(f"{prefix}-b", env)]
    for o in orchs:
        o.start(wait=False)
    for o in orchs:
        o.wait()
    try:
        stubs = [_stub(o) for o in orchs]
        ids = [f"{prefix}-{i:02d}" for i in range(count)]
        started = time.monotonic()
        for i, pid in enumerate(ids):
            _submit(stages, stubs[i % 2], pid, 160, 90)
        projects = _wait_until(
            lambda: (
                (ps := [_get(stubs[0], pid) for pid in ids])
                and all(p.state in FINISHED for p in ps)
                and ps
            ),
            240,
            f"{count} projects to finish",
            stages,
        )
        elapsed = time.monotonic() - started
    finally:
        for o in orchs:
            o.stop()
    assert [p.state for p in projects] == [PS.PROJECT_STATE_COMPLETED] * count, [
        (p.id, p.error) for p in projects if p.state != PS.PROJECT_STATE_COMPLETED
    ]
    db = ProjectDB(pg_url)
    try:
        rows = [db.get(pid) for pid in ids]
        tasks = [t for pid in ids for t in db.tasks.get(pid)]
    finally:
        db.close()
    # Each project was claimed once, by one replica, and each task rendered exactly once.
    assert [r.claims for r in rows if r] == [1] * count
    owners = [r.processed_by for r in rows if r]
    assert all(o in (f"{prefix}-a", f"{prefix}-b") for o in owners), owners
    assert {o for o in owners} == {f"{prefix}-a", f"{prefix}-b"}  # both replicas worked
    assert all(t.renders == 1 for t in tasks), [
        (t.project_id, t.key) for t in tasks if t.renders != 1
    ]
    return {"elapsed": elapsed, "split": {o: owners.count(o) for o in set(owners)}}


def test_two_orchestrators_on_postgres_process_ten_projects_once(
    stages: ProcessStack, pg_url: str
) -> None:
    stats = _run_many(stages, pg_url, 10, "pg10")
    print(f"10 projects on 2 orchestrators: {stats}")


def test_twenty_projects_submitted_at_once_all_complete(stages: ProcessStack, pg_url: str) -> None:
    stats = _run_many(stages, pg_url, 20, "many20")
    print(f"20 projects at once: {stats}")


def test_dead_orchestrator_work_is_taken_over_on_postgres(
    stages: ProcessStack, pg_url: str
) -> None:
    """Replica A is killed mid-run and never comes back: replica B takes the project over when
    A's lease expires and finishes it without re-rendering A's finished segments."""
    env = {
        "LUMIERE_DATABASE_URL": pg_url,
        "LUMIERE_ORCHESTRATOR_LEASE_S": "3",
        "LUMIERE_ANIMATOR_INFLIGHT_PER_REPLICA": "1",
    }
    a = stages.orchestrator("takeover-a", env).start()
    b = stages.orchestrator("takeover-b", env)
    try:
        stub_a = _stub(a)
        _submit(stages, stub_a, "takeover-1", 640, 360)

        def some_done() -> pb.Project | None:
            project = _get(stub_a, "takeover-1")
            assert project.state not in FINISHED, (project.state, project.error)
            segs = [t for t in project.tasks if is_segment_task(t)]
            done = [t for t in segs if t.status == common_pb2.TASK_STATUS_DONE]
            return project if 1 <= len(done) < len(segs) else None

        before = _wait_until(some_done, 60, "some segments rendered on A", stages)
        a.kill()
        killed_at = time.monotonic()
        b.start()
        stub_b = _stub(b)
        project = _wait_until(
            lambda: (p := _get(stub_b, "takeover-1")).state in FINISHED and p,
            90,
            "B to finish A's project",
            stages,
        )
        taken_after = time.monotonic() - killed_at
        assert project.state == PS.PROJECT_STATE_COMPLETED, (project.failed_stage, project.error)
        db = ProjectDB(pg_url)
        try:
            row = db.get("takeover-1")
        finally:
            db.close()
        assert row is not None and row.processed_by == "takeover-a,takeover-b"
        done_before = {
            t.index
            for t in before.tasks
            if t.stage == common_pb2.STAGE_ANIMATOR
            and t.run_kind == common_pb2.RUN_KIND_FULL
            and t.status == common_pb2.TASK_STATUS_DONE
        }
        after = {t.index: t for t in project.tasks if is_segment_task(t)}
        assert all(after[i].renders == 1 for i in done_before)
        print(f"takeover: finished {taken_after:.1f} s after A was killed (lease 3 s)")
    finally:
        a.stop()
        b.stop()
