"""The storyboard through REST, in front of the real orchestrator with fake stage services.

The fake concept plans one shot per key moment (0, 2, 4, 6 s of an 8 s song, hard cuts) and the
fake seeder draws one keyframe per shot (only the `shot_ids` asked for) plus a contact sheet, so
what an edit or a per-shot regenerate re-draws and re-renders is counted exactly (FakeKnobs).
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from PIL import Image

from services.common import contract
from services.common.settings import Settings
from services.common.storage import LocalStore
from tests.support.fake_stages import FakeKnobs
from tests.support.live_gateway import Live, live_stack, wav_bytes
from tests.support.pictures import person_png

pytestmark = pytest.mark.integration
FPS = 12


@pytest.fixture
async def live(settings: Settings, store: LocalStore) -> AsyncIterator[Live]:
    async with live_stack(settings, store, FakeKnobs(duration_s=8.0, storyboard=True)) as running:
        yield running


def url(pid: str, tail: str = "") -> str:
    return f"/api/v1/projects/{pid}{tail}"


async def run_to_end(live: Live, pid: str, path: str = "/process", **body: Any) -> dict:
    resp = await live.client.post(url(pid, path), json=body or None)
    assert resp.status_code == 202, resp.text
    events = await live.events(pid)
    assert events[-1] == ("end", {"status": "completed"}), events[-3:]
    return dict(events[-2][1])


@pytest.fixture
async def done(live: Live) -> str:
    """A project processed to completion; the knobs' counters are cleared afterwards."""
    resp = await live.create(fps=str(FPS))
    assert resp.status_code == 201, resp.text
    pid = str(resp.json()["id"])
    await run_to_end(live, pid)
    live.knobs.drawn_shots.clear()
    live.knobs.rendered.clear()
    return pid


async def board(live: Live, pid: str) -> dict:
    resp = await live.client.get(url(pid, "/storyboard"))
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def edit(shots: list[dict]) -> dict:
    """The view's shots as an edit: what a client sends back (id, times, prompt, framing)."""
    keep = ("id", "start_time", "end_time", "prompt", "framing", "move")
    return {"shots": [{k: s[k] for k in keep} for s in shots]}


def rendered(live: Live) -> list[int]:
    return sorted(i for _, i, _ in live.knobs.rendered)


# ---------------------------------------------------------------- reading


async def test_the_storyboard_has_one_shot_per_keyframe(live: Live, done: str) -> None:
    shots = (await board(live, done))["shots"]
    assert [s["start_time"] for s in shots] == [0.0, 2.0, 4.0, 6.0]
    assert all(s["keyframe_url"] for s in shots)


async def test_the_storyboard_frames_tile_the_video(live: Live, done: str) -> None:
    shots = (await board(live, done))["shots"]
    assert shots[0]["start_frame"] == 0 and shots[-1]["end_frame"] == 8 * FPS
    assert all(a["end_frame"] == b["start_frame"] for a, b in zip(shots, shots[1:], strict=False))


async def test_the_storyboard_before_the_concept_is_404(live: Live) -> None:
    pid = (await live.create()).json()["id"]
    assert (await live.client.get(url(pid, "/storyboard"))).status_code == 404


async def test_the_storyboard_is_stored_as_json(live: Live, done: str, store: LocalStore) -> None:
    stored = json.loads(store.get_bytes(contract.storyboard_key(done)))
    assert [s["id"] for s in stored["shots"]] == ["shot-001", "shot-002", "shot-003", "shot-004"]


async def test_the_contact_sheet_is_the_seeders(live: Live, done: str, store: LocalStore) -> None:
    resp = await live.client.get(url(done, "/storyboard.png"))
    assert resp.status_code == 200 and resp.headers["content-type"] == "image/png"
    sheets = list((store.root / "outputs" / done / "seeds").glob("contact_sheet_*.png"))
    assert len(sheets) == 1 and resp.content == sheets[0].read_bytes()
    assert Image.open(io.BytesIO(resp.content)).format == "PNG"


async def test_the_concept_is_asked_with_the_project_seed(live: Live) -> None:
    pid = (await live.create(seed="42")).json()["id"]
    await run_to_end(live, pid)
    request = live.knobs.analyze_requests[-1]
    assert (request.seed, request.has_characters) == (42, False)


async def test_character_images_make_the_concept_plan_for_them(live: Live) -> None:
    png = io.BytesIO(person_png())
    resp = await live.client.post(
        "/api/v1/projects",
        data={"prompt": "a dancer", "width": "320", "height": "180", "fps": "12"},
        files=[
            ("audio", ("song.wav", wav_bytes(), "audio/wav")),
            ("character_images", ("c.png", png.getvalue(), "image/png")),
        ],
    )
    await run_to_end(live, resp.json()["id"])
    assert live.knobs.analyze_requests[-1].has_characters


# ---------------------------------------------------------------- edits: checks


def _overlap(shots: list[dict]) -> None:
    shots[2]["start_time"] = 3.5


def _gap(shots: list[dict]) -> None:
    shots[1]["end_time"] = 3.0


def _too_short(shots: list[dict]) -> None:
    shots[1]["end_time"] = shots[2]["start_time"] = 2.02


def _late_end(shots: list[dict]) -> None:
    shots[-1]["end_time"] = 7.0


def _duplicate_id(shots: list[dict]) -> None:
    shots[3]["id"] = shots[2]["id"]


def _unknown_move(shots: list[dict]) -> None:
    shots[0]["move"] = "dolly_zoom"


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (_overlap, "shots overlap"),
        (_gap, "gap between shot 1 (shot-002)"),
        (_too_short, "too short"),
        (_late_end, "a gap at the end"),
        (_duplicate_id, "shot ids must be unique"),
        (_unknown_move, "unknown move 'dolly_zoom'"),
    ],
)
async def test_a_bad_edit_is_400_naming_the_problem(
    live: Live, done: str, change: Any, needle: str
) -> None:
    body = edit((await board(live, done))["shots"])
    change(body["shots"])
    resp = await live.client.put(url(done, "/storyboard"), json=body)
    assert resp.status_code == 400 and needle in resp.json()["detail"], resp.text


async def test_an_edit_during_a_run_is_409(live: Live, done: str) -> None:
    body = edit((await board(live, done))["shots"])
    body["shots"][0]["prompt"] = "moonlight"
    put = await live.client.put(url(done, "/storyboard"), json=body)
    assert put.status_code == 200, put.text
    live.knobs.segment_delay_s = 1.0
    assert (await live.client.post(url(done, "/process"))).status_code == 202
    resp = await live.client.put(url(done, "/storyboard"), json=body)
    assert resp.status_code == 409 and "processing" in resp.json()["detail"]
    live.knobs.segment_delay_s = 0.0
    await live.events(done)


# ---------------------------------------------------------------- edits: what re-renders


async def test_an_edited_prompt_redraws_and_rerenders_only_that_shot(live: Live, done: str) -> None:
    body = edit((await board(live, done))["shots"])
    body["shots"][1]["prompt"] = "a red door in the rain"
    assert (await live.client.put(url(done, "/storyboard"), json=body)).status_code == 200
    final = await run_to_end(live, done)
    assert live.knobs.drawn_shots == [["shot-002"]]
    assert rendered(live) == [1]
    assert [t["renders"] for t in final["tasks"] if t["stage"] == "animator"] == [1, 2, 1, 1]


async def test_the_edit_is_the_storyboard_in_use(live: Live, done: str) -> None:
    body = edit((await board(live, done))["shots"])
    body["shots"][1]["prompt"] = "a red door in the rain"
    await live.client.put(url(done, "/storyboard"), json=body)
    after = await board(live, done)
    assert after["source"] == "user" and after["shots"][1]["prompt"] == "a red door in the rain"


async def test_a_moved_cut_redraws_the_shot_it_opens(live: Live, done: str) -> None:
    body = edit((await board(live, done))["shots"])
    body["shots"][1]["end_time"] = body["shots"][2]["start_time"] = 5.0
    assert (await live.client.put(url(done, "/storyboard"), json=body)).status_code == 200
    await run_to_end(live, done)
    assert live.knobs.drawn_shots == [["shot-003"]]
    assert rendered(live) == [1, 2]


async def test_a_removed_cut_draws_nothing_and_drops_its_keyframe(live: Live, done: str) -> None:
    shots = edit((await board(live, done))["shots"])["shots"]
    shots[1]["end_time"] = shots[2]["end_time"]
    del shots[2]
    resp = await live.client.put(url(done, "/storyboard"), json={"shots": shots})
    assert resp.status_code == 200, resp.text
    final = await run_to_end(live, done)
    assert live.knobs.drawn_shots == []
    assert [k["shot_id"] for k in final["keyframes"]] == ["shot-001", "shot-002", "shot-004"]
    assert rendered(live) == [1, 2]  # the longer shot, and the last one under its new index


async def test_a_changed_move_rerenders_without_redrawing(live: Live, done: str) -> None:
    body = edit((await board(live, done))["shots"])
    body["shots"][3]["move"] = "handheld"
    await live.client.put(url(done, "/storyboard"), json=body)
    await run_to_end(live, done)
    assert (live.knobs.drawn_shots, rendered(live)) == ([], [3])


# ---------------------------------------------------------------- per-shot regenerate


async def test_regenerating_a_shot_redraws_and_rerenders_only_it(live: Live, done: str) -> None:
    await run_to_end(live, done, "/regenerate", shot=2, prompt="lightning over the river")
    assert live.knobs.drawn_shots == [["shot-003"]]
    assert rendered(live) == [2]


async def test_regenerating_a_shot_keeps_its_prompt_in_the_storyboard(
    live: Live, done: str
) -> None:
    await run_to_end(live, done, "/regenerate", shot="shot-003", prompt="lightning", seed=9)
    shot = (await board(live, done))["shots"][2]
    assert (shot["prompt"], shot["seed"]) == ("lightning", 9)


async def test_regenerating_a_segment_still_rerenders_only_it(live: Live, done: str) -> None:
    await run_to_end(live, done, "/segments/1/regenerate", seed=5)
    assert (live.knobs.drawn_shots, live.knobs.rendered[0][1:]) == ([], (1, 5))


# ---------------------------------------------------------------- create with a storyboard


async def test_a_storyboard_given_at_create_replaces_the_directors(live: Live) -> None:
    given = {
        "shots": [
            {"id": "open", "start_time": 0, "end_time": 3.0, "framing": "wide", "prompt": "dawn"},
            {"id": "close", "start_time": 3.0, "end_time": 8.0, "framing": "close_up"},
        ]
    }
    pid = (await live.create(storyboard=json.dumps(given))).json()["id"]
    final = await run_to_end(live, pid)
    plan = await board(live, pid)
    assert (plan["source"], [s["id"] for s in plan["shots"]]) == ("user", ["open", "close"])
    assert live.knobs.drawn_shots == [["open", "close"]]
    assert [s["start_frame"] for s in final["segments"]] == [0, 3 * 12]


async def test_a_storyboard_given_at_create_must_fit_the_song(live: Live) -> None:
    given = {"shots": [{"id": "a", "start_time": 0, "end_time": 5.0}]}
    pid = (await live.create(storyboard=json.dumps(given))).json()["id"]
    await live.client.post(url(pid, "/process"))
    events = await live.events(pid)
    failed = events[-2][1]
    assert failed["status"] == "failed" and failed["failed_stage"] == "concept"
    assert "does not fit the song" in failed["error"]
