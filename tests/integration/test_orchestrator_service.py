"""OrchestratorService over real gRPC on loopback, against fake stage services.

Covers the API contract (health, NOT_FOUND, INVALID_ARGUMENT), the state machine and watch
stream, concurrent fan-out with retries on another replica, failure reporting, cancel, delete,
regenerate (only the chosen segment re-renders), preview, and resume after a restart.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from lumiere.v1 import common_pb2, orchestrator_pb2, orchestrator_pb2_grpc

from services.common import contract
from services.common.grpc_client import aio_channel
from services.common.settings import Settings
from services.common.stages import stage_name, task_status_name
from services.common.storage import LocalStore
from services.orchestrator import server as orch_server
from tests.conftest import running_service
from tests.support.fake_stages import FakeKnobs, fake_adders
from tests.support.postgres import throwaway_database
from tests.support.tasks import is_segment_task

pytestmark = pytest.mark.integration
pb = orchestrator_pb2
PS = pb.ProjectState


@pytest.fixture(params=["sqlite", "postgres"])
def db_settings(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Settings]:
    """The shared settings on SQLite, and on a throw-away PostgreSQL database."""
    if request.param == "sqlite":
        yield settings
        return
    with throwaway_database() as url:
        yield settings.model_copy(update={"database_url": url})


@dataclass
class Stack:
    stub: orchestrator_pb2_grpc.OrchestratorServiceStub
    channel: grpc.aio.Channel
    knobs: FakeKnobs
    settings: Settings
    store: LocalStore


@asynccontextmanager
async def stack(
    settings: Settings, store: LocalStore, knobs: FakeKnobs, animators: int = 2
) -> AsyncIterator[Stack]:
    concept, seeder, animator = fake_adders(knobs)
    async with AsyncExitStack() as stack_:
        c = await stack_.enter_async_context(running_service(concept, settings, store))
        s = await stack_.enter_async_context(running_service(seeder, settings, store))
        anims = [
            await stack_.enter_async_context(running_service(animator, settings, store))
            for _ in range(animators)
        ]
        cfg = settings.model_copy(
            update={
                "concept_addr": c,
                "seeder_addr": s,
                "animator_addrs": ",".join(anims),
                "animator_inflight_per_replica": 2,
            }
        )
        addr = await stack_.enter_async_context(
            running_service(orch_server.add_to_server, cfg, store)
        )
        channel = aio_channel(addr)
        try:
            yield Stack(
                orchestrator_pb2_grpc.OrchestratorServiceStub(channel), channel, knobs, cfg, store
            )
        finally:
            await channel.close()
            await orch_server.stop_engines()


def _audio(store: LocalStore, pid: str) -> common_pb2.ArtifactRef:
    return store.put_bytes(f"uploads/{pid}/audio.wav", b"RIFF....", "audio/wav")


async def _create(st: Stack, pid: str, **opts: int) -> pb.Project:
    options = pb.ProjectOptions(**({"width": 320, "height": 180, "fps": 12} | opts))
    resp = await st.stub.CreateProject(
        pb.CreateProjectRequest(
            project_id=pid,
            prompt="neon city at night",
            audio=_audio(st.store, pid),
            options=options,
        )
    )
    return resp.project


async def _wait_done(
    st: Stack, pid: str, timeout: float = 20
) -> tuple[pb.Project, list[pb.WatchProjectEvent]]:
    events = []
    async with asyncio.timeout(timeout):
        async for ev in st.stub.WatchProject(pb.WatchProjectRequest(project_id=pid)):
            events.append(ev)
    project = (await st.stub.GetProject(pb.GetProjectRequest(project_id=pid))).project
    return project, events


async def test_health_not_found_and_invalid_arguments(
    settings: Settings, store: LocalStore
) -> None:
    async with stack(settings, store, FakeKnobs()) as st:
        health = health_pb2_grpc.HealthStub(st.channel)
        resp = await health.Check(
            health_pb2.HealthCheckRequest(service="lumiere.v1.OrchestratorService")
        )
        assert resp.status == health_pb2.HealthCheckResponse.SERVING

        for call, req in [
            (st.stub.GetProject, pb.GetProjectRequest(project_id="nope")),
            (st.stub.ProcessProject, pb.ProcessProjectRequest(project_id="nope")),
            (st.stub.CancelProject, pb.CancelProjectRequest(project_id="nope")),
            (st.stub.DeleteProject, pb.DeleteProjectRequest(project_id="nope")),
        ]:
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await call(req)
            assert err.value.code() == grpc.StatusCode.NOT_FOUND
            assert err.value.details() == "project nope not found"

        audio = _audio(store, "ok")
        bad = [
            (pb.CreateProjectRequest(project_id="Bad_ID", prompt="x", audio=audio), "project_id"),
            (pb.CreateProjectRequest(prompt="  ", audio=audio), "prompt is empty"),
            (pb.CreateProjectRequest(prompt="x" * 5000, audio=audio), "limit is 2000"),
            (pb.CreateProjectRequest(prompt="x"), "audio is missing"),
            (
                pb.CreateProjectRequest(
                    prompt="x", audio=common_pb2.ArtifactRef(key="../etc/passwd")
                ),
                "invalid artifact key",
            ),
            (
                pb.CreateProjectRequest(
                    prompt="x", audio=common_pb2.ArtifactRef(key="uploads/zz/a.wav")
                ),
                "not in the store",
            ),
            (
                pb.CreateProjectRequest(
                    prompt="x", audio=audio, options=pb.ProjectOptions(width=321, height=180)
                ),
                "even",
            ),
            (
                pb.CreateProjectRequest(
                    prompt="x", audio=audio, options=pb.ProjectOptions(fps=500)
                ),
                "fps",
            ),
        ]
        for req, fragment in bad:
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await st.stub.CreateProject(req)
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, req
            assert fragment in err.value.details()

        # Defaults and a generated id.
        project = (
            await st.stub.CreateProject(pb.CreateProjectRequest(prompt="x", audio=audio))
        ).project
        assert len(project.id) == 32 and project.state == PS.PROJECT_STATE_CREATED
        o = project.options
        assert (o.width, o.height, o.fps, o.quality, o.key_moment_count) == (
            1280,
            720,
            30,
            common_pb2.QUALITY_FINAL,
            0,
        )
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await st.stub.CreateProject(
                pb.CreateProjectRequest(project_id=project.id, prompt="x", audio=audio)
            )
        assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS


async def test_more_character_images_than_the_limit_are_rejected_at_create(
    settings: Settings, store: LocalStore
) -> None:
    """The seeder composes at most contract.MAX_CHARACTER_IMAGES figures: one more is refused
    at create (it used to be accepted and then fail in the seeder)."""
    async with stack(settings, store, FakeKnobs(), animators=1) as st:
        count = contract.MAX_CHARACTER_IMAGES + 1
        images = [
            store.put_bytes(contract.character_key("cast", i, "png"), b"png", "image/png")
            for i in range(count)
        ]
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await st.stub.CreateProject(
                pb.CreateProjectRequest(
                    project_id="cast",
                    prompt="five friends",
                    audio=_audio(store, "cast"),
                    character_images=images,
                )
            )
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert f"{count} character images given" in err.value.details()
        assert f"the limit is {contract.MAX_CHARACTER_IMAGES}" in err.value.details()


async def test_renderer_version_change_rerenders_reused_segments(
    settings: Settings, store: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finished segments are reused only when made by the same renderer version: after a
    renderer change, regenerating one segment re-renders all of them instead of mixing renders
    of two versions in one video."""
    knobs = FakeKnobs()
    async with stack(settings, store, knobs, animators=1) as st:
        await _create(st, "versions")
        await st.stub.ProcessProject(pb.ProcessProjectRequest(project_id="versions"))
        before, _ = await _wait_done(st, "versions")
        assert before.state == PS.PROJECT_STATE_COMPLETED, before.error
        knobs.rendered.clear()
        monkeypatch.setattr(contract, "RENDER_VERSION", contract.RENDER_VERSION + "-next")
        await st.stub.RegenerateSegment(
            pb.RegenerateSegmentRequest(project_id="versions", segment_index=2, seed=777)
        )
        after, _ = await _wait_done(st, "versions")
        assert after.state == PS.PROJECT_STATE_COMPLETED, after.error
        assert sorted(i for _, i, _ in knobs.rendered) == list(range(len(before.segments)))
        tasks = [t for t in after.tasks if is_segment_task(t)]
        assert all(t.renders == 2 and t.reused == 0 for t in tasks)


async def test_full_run_states_progress_and_fanout(
    db_settings: Settings, store: LocalStore
) -> None:
    settings = db_settings
    knobs = FakeKnobs(segment_delay_s=0.2, moment_times=[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
    async with stack(settings, store, knobs, animators=2) as st:
        await _create(st, "song-1")
        resp = await st.stub.ProcessProject(pb.ProcessProjectRequest(project_id="song-1"))
        assert resp.project.state == PS.PROJECT_STATE_PROCESSING
        t0 = asyncio.get_running_loop().time()
        project, events = await _wait_done(st, "song-1")
        elapsed = asyncio.get_running_loop().time() - t0
        assert project.state == PS.PROJECT_STATE_COMPLETED, project.error
        states = [e.state for e in events]
        # The state changes appear in order (the first event may already be past PROCESSING).
        order = [
            PS.PROJECT_STATE_CONCEPT_GENERATED,
            PS.PROJECT_STATE_SEEDS_GENERATED,
            PS.PROJECT_STATE_ANIMATIONS_GENERATED,
            PS.PROJECT_STATE_COMPLETED,
        ]
        seen = [s for s in dict.fromkeys(states) if s in order]
        assert seen == order
        assert states == sorted(states)  # never goes backwards
        assert any(e.progress.stage == "animator" and 0 < e.progress.done < 8 for e in events)
        # 8 segments x 0.2 s over 2 replicas x 2 in flight: renders overlap (4 at a time), so the
        # stage takes ~0.4 s instead of 1.6 s.
        edges = []
        for t in project.tasks:
            if is_segment_task(t):
                edges += [(t.started_at.ToNanoseconds(), 1), (t.finished_at.ToNanoseconds(), -1)]
        level = peak = 0
        for _, step in sorted(edges):
            level += step
            peak = max(peak, level)
        assert peak == 4, peak
        assert elapsed < 5, elapsed
        assert len(project.segments) == 8
        assert project.segments[0].start_frame == 0 and project.segments[-1].end_frame == 96
        for a, b in zip(project.segments, project.segments[1:], strict=False):
            assert a.end_frame == b.start_frame
        assert project.final_video.key == "outputs/song-1/final_video.mp4"
        assert store.exists(project.final_video.key)
        assert project.progress.fraction == pytest.approx(1.0)
        stages = [(stage_name(t.stage), task_status_name(t.status)) for t in project.tasks]
        assert stages[:2] == [("concept", "done"), ("seeder", "done")]
        assert stages[-1] == ("compose", "done")
        replicas = {t.replica for t in project.tasks if is_segment_task(t)}
        assert len(replicas) == 2  # round-robin used both animators

        # A late watcher gets the current (final) state and the stream ends.
        _, late = await _wait_done(st, "song-1", timeout=5)
        assert [e.state for e in late] == [PS.PROJECT_STATE_COMPLETED]

        listed = await st.stub.ListProjects(pb.ListProjectsRequest(page_size=10))
        assert [p.id for p in listed.projects] == ["song-1"]


async def test_list_newest_first_with_page_tokens(db_settings: Settings, store: LocalStore) -> None:
    settings = db_settings
    async with stack(settings, store, FakeKnobs(), animators=1) as st:
        for i in range(5):
            await _create(st, f"p-{i}")
        seen: list[str] = []
        token = ""
        while True:
            resp = await st.stub.ListProjects(pb.ListProjectsRequest(page_size=2, page_token=token))
            seen += [p.id for p in resp.projects]
            token = resp.next_page_token
            if not token:
                break
        assert seen == [f"p-{i}" for i in reversed(range(5))]
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await st.stub.ListProjects(pb.ListProjectsRequest(page_token="garbage"))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_transient_animator_failures_are_retried(
    settings: Settings, store: LocalStore
) -> None:
    knobs = FakeKnobs(
        segment_failures=[grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.DEADLINE_EXCEEDED]
    )
    async with stack(settings, store, knobs, animators=2) as st:
        await _create(st, "flaky")
        await st.stub.ProcessProject(pb.ProcessProjectRequest(project_id="flaky"))
        project, _ = await _wait_done(st, "flaky")
        assert project.state == PS.PROJECT_STATE_COMPLETED, project.error
        attempts = sorted(t.attempts for t in project.tasks if is_segment_task(t))
        assert sum(attempts) == 4 + 2  # two segments needed a second attempt


async def test_failures_name_the_stage_and_reason(
    settings: Settings, store: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    knobs = FakeKnobs(
        concept_failure=(grpc.StatusCode.INVALID_ARGUMENT, "audio file could not be decoded: junk")
    )
    async with stack(settings, store, knobs, animators=1) as st:
        await _create(st, "bad-audio")
        await st.stub.ProcessProject(pb.ProcessProjectRequest(project_id="bad-audio"))
        project, events = await _wait_done(st, "bad-audio")
        assert project.state == PS.PROJECT_STATE_FAILED
        assert project.failed_stage == common_pb2.STAGE_CONCEPT
        assert "audio file could not be decoded: junk" in project.error
        assert not project.error_retryable
        assert knobs.calls["concept"] == 1  # INVALID_ARGUMENT is not retried
        assert events[-1].state == PS.PROJECT_STATE_FAILED

    knobs = FakeKnobs(segment_failures=[grpc.StatusCode.UNAVAILABLE] * 1000)
    monkeypatch.setenv("LUMIERE_ORCHESTRATOR_RETRY_BACKOFF_S", "0.01")
    monkeypatch.setenv("LUMIERE_ORCHESTRATOR_MAX_ATTEMPTS", "2")
    # A stage answering UNAVAILABLE is waited for this long, then its attempts count.
    monkeypatch.setenv("LUMIERE_ORCHESTRATOR_STAGE_OUTAGE_S", "0.3")
    async with stack(settings, store, knobs, animators=1) as st:
        await _create(st, "down")
        await st.stub.ProcessProject(pb.ProcessProjectRequest(project_id="down"))
        project, _ = await _wait_done(st, "down")
        assert project.state == PS.PROJECT_STATE_FAILED
        assert project.failed_stage == common_pb2.STAGE_ANIMATOR
        assert "UNAVAILABLE" in project.error
        assert re.search(r"after \d+ attempts \(unreachable for \d+ s\)", project.error)
        assert project.error_retryable


async def test_cancel_delete_regenerate_preview(db_settings: Settings, store: LocalStore) -> None:
    settings = db_settings
    knobs = FakeKnobs(segment_delay_s=0.1)
    async with stack(settings, store, knobs, animators=2) as st:
        # Cancel mid-run.
        knobs.segment_delay_s = 2.0
        await _create(st, "stop-me")
        await st.stub.ProcessProject(pb.ProcessProjectRequest(project_id="stop-me"))
        await asyncio.sleep(0.5)
        cancelled = (
            await st.stub.CancelProject(pb.CancelProjectRequest(project_id="stop-me"))
        ).project
        assert cancelled.state == PS.PROJECT_STATE_CANCELLED
        await asyncio.sleep(0.3)
        again = (await st.stub.GetProject(pb.GetProjectRequest(project_id="stop-me"))).project
        assert again.state == PS.PROJECT_STATE_CANCELLED
        knobs.segment_delay_s = 0.0

        # Full run, then regenerate segment 2 with a new seed: only it re-renders.
        await _create(st, "regen")
        await st.stub.ProcessProject(pb.ProcessProjectRequest(project_id="regen"))
        before, _ = await _wait_done(st, "regen")
        assert before.state == PS.PROJECT_STATE_COMPLETED
        knobs.rendered.clear()
        await st.stub.RegenerateSegment(
            pb.RegenerateSegmentRequest(project_id="regen", segment_index=2, seed=777)
        )
        after, _ = await _wait_done(st, "regen")
        assert after.state == PS.PROJECT_STATE_COMPLETED, after.error
        assert knobs.rendered == [("regen", 2, 777)]
        for i, (a, b) in enumerate(zip(before.segments, after.segments, strict=True)):
            assert (a.video.sha256 == b.video.sha256) == (i != 2)
        assert after.final_video.sha256 != before.final_video.sha256

        # Regenerate with a new prompt re-draws keyframe 1: segments 0 and 1 touch it.
        knobs.rendered.clear()
        await st.stub.RegenerateSegment(
            pb.RegenerateSegmentRequest(project_id="regen", segment_index=1, prompt="a red moon")
        )
        after2, _ = await _wait_done(st, "regen")
        assert after2.state == PS.PROJECT_STATE_COMPLETED, after2.error
        assert sorted(i for _, i, _ in knobs.rendered) == [0, 1]
        assert after2.keyframes[1].prompt == "a red moon"
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await st.stub.RegenerateSegment(
                pb.RegenerateSegmentRequest(project_id="regen", segment_index=9)
            )
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT

        # Preview: small and 12 fps, into its own key; then the full render reuses concept+seeds.
        await _create(st, "prev", fps=30)
        await st.stub.PreviewProject(pb.PreviewProjectRequest(project_id="prev"))
        prev, _ = await _wait_done(st, "prev")
        assert prev.state == PS.PROJECT_STATE_COMPLETED, prev.error
        assert prev.preview_video.key == "outputs/prev/preview.mp4"
        assert not prev.final_video.key
        assert (prev.tasks[-1].stage, prev.tasks[-1].run_kind) == (
            common_pb2.STAGE_COMPOSE,
            common_pb2.RUN_KIND_PREVIEW,
        )
        calls = dict(knobs.calls)
        await st.stub.ProcessProject(pb.ProcessProjectRequest(project_id="prev"))
        full, _ = await _wait_done(st, "prev")
        assert full.state == PS.PROJECT_STATE_COMPLETED
        assert full.final_video.key == "outputs/prev/final_video.mp4"
        assert full.segments[-1].end_frame == 240  # 8 s at 30 fps
        assert (
            knobs.calls["concept"] == calls["concept"] and knobs.calls["seeder"] == calls["seeder"]
        )

        # Delete removes the project and its artifacts.
        resp = await st.stub.DeleteProject(pb.DeleteProjectRequest(project_id="regen"))
        assert resp.deleted_artifacts > 5
        assert not store.exists("outputs/regen/final_video.mp4")
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await st.stub.GetProject(pb.GetProjectRequest(project_id="regen"))
        assert err.value.code() == grpc.StatusCode.NOT_FOUND


async def test_restart_resumes_without_rerendering(
    db_settings: Settings, store: LocalStore
) -> None:
    settings = db_settings
    knobs = FakeKnobs(segment_delay_s=0.4, moment_times=[0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    async with stack(settings, store, knobs, animators=1) as st:
        await _create(st, "resume-me")
        await st.stub.ProcessProject(pb.ProcessProjectRequest(project_id="resume-me"))
        # Wait until some but not all segments are done, then "crash" (stop the engine).
        async with asyncio.timeout(10):
            while True:
                p = (await st.stub.GetProject(pb.GetProjectRequest(project_id="resume-me"))).project
                if 2 <= len(p.segments) < 6:
                    break
                await asyncio.sleep(0.05)
        await orch_server.stop_engines()
        done_before = {s.index for s in p.segments}
        rendered_before = len(knobs.rendered)
    knobs.segment_delay_s = 0.0
    async with stack(settings, store, knobs, animators=1) as st:
        project, _ = await _wait_done(st, "resume-me")
        assert project.state == PS.PROJECT_STATE_COMPLETED, project.error
        rerendered = [i for _, i, _ in knobs.rendered[rendered_before:]]
        assert not set(rerendered) & done_before
        assert sorted(
            set(rerendered) | {i for _, i, _ in knobs.rendered[:rendered_before]}
        ) == list(range(6))


async def test_dead_replica_is_taken_over_and_watchable_from_any_replica(
    settings: Settings, store: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two orchestrator replicas on one database: replica A dies mid-run (its lease is left
    behind), replica B takes the project over when the lease expires and finishes it without
    re-rendering A's finished segments; a watcher connected to B sees the whole run."""
    monkeypatch.setenv("LUMIERE_ORCHESTRATOR_LEASE_S", "1.0")
    monkeypatch.setenv("LUMIERE_ORCHESTRATOR_POLL_S", "0.1")
    knobs = FakeKnobs(segment_delay_s=0.5, moment_times=[0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    concept, seeder, animator = fake_adders(knobs)
    async with AsyncExitStack() as es:
        c = await es.enter_async_context(running_service(concept, settings, store))
        s = await es.enter_async_context(running_service(seeder, settings, store))
        a = await es.enter_async_context(running_service(animator, settings, store))
        cfg = settings.model_copy(
            update={
                "concept_addr": c,
                "seeder_addr": s,
                "animator_addrs": a,
                "animator_inflight_per_replica": 1,
            }
        )
        monkeypatch.setenv("LUMIERE_ORCHESTRATOR_ID", "replica-a")
        addr_a = await es.enter_async_context(
            running_service(orch_server.add_to_server, cfg, store)
        )
        engine_a = orch_server.ENGINES[-1]
        es.push_async_callback(orch_server.stop_engines)
        ch_a = aio_channel(addr_a)
        es.push_async_callback(ch_a.close)
        stub_a = orchestrator_pb2_grpc.OrchestratorServiceStub(ch_a)
        st = Stack(stub_a, ch_a, knobs, cfg, store)
        await _create(st, "takeover")
        await stub_a.ProcessProject(pb.ProcessProjectRequest(project_id="takeover"))
        async with asyncio.timeout(10):
            while True:
                p = (await stub_a.GetProject(pb.GetProjectRequest(project_id="takeover"))).project
                if len(p.segments) >= 2:
                    break
                await asyncio.sleep(0.05)
        done_before = {seg.index for seg in p.segments}

        # Replica B joins; A's lease is live, so B must not touch the project yet.
        monkeypatch.setenv("LUMIERE_ORCHESTRATOR_ID", "replica-b")
        addr_b = await es.enter_async_context(
            running_service(orch_server.add_to_server, cfg, store)
        )
        engine_b = orch_server.ENGINES[-1]
        ch_b = aio_channel(addr_b)
        es.push_async_callback(ch_b.close)
        stub_b = orchestrator_pb2_grpc.OrchestratorServiceStub(ch_b)
        watch = stub_b.WatchProject(pb.WatchProjectRequest(project_id="takeover"))
        first = await watch.read()
        assert first.state == PS.PROJECT_STATE_SEEDS_GENERATED
        orch_server.ENGINES.remove(engine_a)
        await engine_a.stop(release=False)  # crash: the lease stays behind
        states = [first.state]
        async with asyncio.timeout(15):
            while (ev := await watch.read()) != grpc.aio.EOF:
                states.append(ev.state)
        project = (await stub_b.GetProject(pb.GetProjectRequest(project_id="takeover"))).project
        assert project.state == PS.PROJECT_STATE_COMPLETED, project.error
        assert states[-1] == PS.PROJECT_STATE_COMPLETED
        assert PS.PROJECT_STATE_ANIMATIONS_GENERATED in states
        tasks = {t.index: t for t in project.tasks if is_segment_task(t)}
        assert all(tasks[i].renders == 1 for i in done_before)
        db_row = engine_b.db.get("takeover")
        assert db_row is not None and db_row.processed_by == "replica-a,replica-b"


async def test_fewer_key_moments_than_asked_for_are_reported(
    settings: Settings, store: LocalStore
) -> None:
    # Issue 14, defect 8: key_moments=64 on a short song was cut down without a word.
    knobs = FakeKnobs()
    async with stack(settings, store, knobs, animators=1) as st:
        await _create(st, "few-moments", key_moment_count=contract.MAX_KEY_MOMENTS)
        await st.stub.ProcessProject(pb.ProcessProjectRequest(project_id="few-moments"))
        project, events = await _wait_done(st, "few-moments")
        assert project.state == PS.PROJECT_STATE_COMPLETED
        found = len(knobs.moment_times)
        notes = [e.message for e in events if e.state == PS.PROJECT_STATE_CONCEPT_GENERATED]
        assert any(
            f"{found} key moments ({contract.MAX_KEY_MOMENTS} asked for; the song has room "
            f"for {found})" in note
            for note in notes
        ), notes
