"""The gateway over HTTP (uvicorn) in front of the real orchestrator, with fake stage services.

Everything runs on one event loop: stage fakes and the orchestrator on real loopback gRPC
servers, the gateway under uvicorn on a real socket, httpx as the client. Checks the REST flow
end to end (create -> process -> SSE -> download), the orchestrator's own validation surfacing
as HTTP 400 with uploads cleaned up, cancel, delete, regenerate, preview, health and metrics.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from services.common.settings import Settings
from services.common.storage import LocalStore
from tests.support.fake_stages import FakeKnobs
from tests.support.live_gateway import Live, live_stack

pytestmark = pytest.mark.integration


@pytest.fixture
async def live(settings: Settings, store: LocalStore) -> AsyncIterator[Live]:
    knobs = FakeKnobs(duration_s=8.0, segment_delay_s=0.2)
    async with live_stack(settings, store, knobs) as running:
        yield running


async def test_rest_flow_against_the_real_orchestrator(live: Live) -> None:
    health = (await live.client.get("/health")).json()
    assert health["status"] == "ok", health
    assert set(health["services"]) == {"orchestrator", "concept", "seeder", "animator"}

    resp = await live.create()
    assert resp.status_code == 201, resp.text
    pid = resp.json()["id"]
    assert resp.json()["status"] == "created"
    resp = await live.client.post(f"/api/v1/projects/{pid}/process")
    assert resp.status_code == 202 and resp.json()["status"] == "processing"

    events = await live.events(pid)
    # The first event is the project as it is now (fake stages are quick); then every change.
    order = ["processing", "concept_generated", "seeds_generated", "animations_generated"]
    order.append("completed")
    seen = [events[0][1]["status"]] + [d["status"] for k, d in events if k == "state"]
    assert seen == order[order.index(seen[0]) :], seen
    assert "animations_generated" in seen  # segments take 0.2 s each: that change is streamed
    assert events[-1] == ("end", {"status": "completed"})
    final = events[-2][1]
    assert final["status"] == "completed" and final["video_url"]
    assert final["concept"]["tempo_bpm"] == 120.0
    assert len(final["keyframes"]) == 4 and len(final["segments"]) >= 3
    assert sum(s["end_frame"] - s["start_frame"] for s in final["segments"]) == 8 * 12
    assert final["run_kind"] == "full"
    assert {t["stage"] for t in final["tasks"]} >= {"concept", "seeder", "animator", "compose"}
    assert all(t["status"] == "done" for t in final["tasks"])

    video = await live.client.get(final["video_url"])
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    part = await live.client.get(final["video_url"], headers={"Range": "bytes=2-5"})
    assert part.status_code == 206 and part.content == video.content[2:6]
    assert (await live.client.get(final["keyframes"][0]["url"])).status_code == 200

    # Regenerate one segment with a new keyframe prompt: back to completed, run kind recorded.
    resp = await live.client.post(
        f"/api/v1/projects/{pid}/segments/1/regenerate", json={"prompt": "a red lighthouse"}
    )
    assert resp.status_code == 202, resp.text
    events = await live.events(pid)
    assert events[-1] == ("end", {"status": "completed"})
    assert any("a red lighthouse" in k["prompt"] for k in events[-2][1]["keyframes"])

    # Metrics: the gateway followed both runs and timed the stages.
    await asyncio.sleep(0.1)
    text = (await live.client.get("/metrics")).text
    assert 'lumiere_stage_duration_seconds_count{stage="concept"}' in text
    assert 'lumiere_task_duration_seconds_count{stage="animator"}' in text
    assert 'lumiere_projects{state="completed"} 1.0' in text
    fps = live.app.state.metrics.registry.get_sample_value("lumiere_render_frames_per_second")
    assert fps and fps > 0

    resp = await live.client.post(f"/api/v1/projects/{pid}/preview")
    assert resp.status_code == 202
    await live.events(pid)
    resp = await live.client.get(f"/api/v1/projects/{pid}/preview")
    assert resp.status_code == 200, resp.text
    project = (await live.client.get(f"/api/v1/projects/{pid}")).json()
    assert project["preview_url"] == f"/api/v1/projects/{pid}/preview"

    assert (await live.client.delete(f"/api/v1/projects/{pid}")).status_code == 204
    assert (await live.client.get(f"/api/v1/projects/{pid}")).status_code == 404
    assert not (live.store.root / "uploads" / pid).exists()
    assert not (live.store.root / "outputs" / pid).exists()


async def test_orchestrator_rejections_become_400_and_leave_no_uploads(live: Live) -> None:
    # The gateway accepts 3840x3840, the orchestrator's limit is 3840x2160.
    resp = await live.create(width="3840", height="3840")
    assert resp.status_code == 400, resp.text
    assert resp.json()["detail"]
    uploads = live.store.root / "uploads"
    assert not uploads.exists() or not any(p.is_file() for p in uploads.rglob("*"))
    resp = await live.client.post("/api/v1/projects/0123456789abcdef0123456789abcdef/process")
    assert resp.status_code == 404


async def test_cancel_a_running_project(settings: Settings, store: LocalStore) -> None:
    async with live_stack(settings, store, FakeKnobs(segment_delay_s=0.5)) as live:
        pid = (await live.create()).json()["id"]
        await live.client.post(f"/api/v1/projects/{pid}/process")
        for _ in range(100):
            status = (await live.client.get(f"/api/v1/projects/{pid}")).json()["status"]
            if status == "seeds_generated":
                break
            await asyncio.sleep(0.05)
        resp = await live.client.post(f"/api/v1/projects/{pid}/cancel")
        assert resp.status_code == 202, resp.text
        assert resp.json()["status"] == "cancelled"
        resp = await live.client.get(f"/api/v1/projects/{pid}/video")
        assert resp.status_code == 409
        # Cancelling a cancelled project is a conflict, not a server error.
        assert (await live.client.post(f"/api/v1/projects/{pid}/cancel")).status_code == 409
