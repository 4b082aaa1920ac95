"""The REST API over a real loopback gRPC server (an in-memory fake orchestrator).

Covers the seed's endpoints and contract (paths, multipart fields, state names), upload
validation (non-audio, bad images, oversize, wrong content type, missing fields, the image
limit), downloads with Range, SSE progress, cancel/delete/regenerate/preview, the pipeline
table, and the gRPC -> HTTP error mapping. One behaviour per test; fixtures build the states
(a created, running, cancelled or completed project).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient
from PIL import Image

from gateway.app import create_app
from gateway.config import GatewaySettings
from services.common import contract, stages
from services.common.settings import Settings
from services.common.storage import LocalStore
from tests.support.fake_orchestrator import FakeOrchestrator, make_test_video, serve_fake
from tests.support.pictures import character_png

pytestmark = pytest.mark.integration

API = "/api/v1"


@pytest.fixture(scope="module")
def video_bytes() -> bytes:
    return make_test_video(2.0)


def wav_bytes(seconds: float = 1.0, sr: int = 22050) -> bytes:
    t = np.arange(int(seconds * sr)) / sr
    out = io.BytesIO()
    sf.write(out, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), sr, format="WAV")
    return out.getvalue()


def png_bytes(color=(10, 200, 30), size=(64, 48), fmt="PNG", figure=True) -> bytes:
    return character_png(size, fmt, figure, color)


class Env:
    def __init__(self, client: TestClient, fake: FakeOrchestrator, store: LocalStore) -> None:
        self.client, self.fake, self.store = client, fake, store

    def create(self, prompt: str = "neon city at night", **form: Any) -> httpx.Response:
        files: list[tuple[str, tuple[str, bytes, str]]] = [
            ("audio", ("song.wav", wav_bytes(), "audio/wav"))
        ]
        for i, img in enumerate(form.pop("images", [])):
            files.append(("character_images", (f"c{i}.png", img, "image/png")))
        return self.client.post(f"{API}/projects", data={"prompt": prompt, **form}, files=files)

    def uploads(self) -> list[str]:
        root = self.store.root / "uploads"
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())

    def url(self, pid: str, tail: str = "") -> str:
        return f"{API}/projects/{pid}{tail}"


def make_env(
    tmp_path: Path, video: bytes, gw: GatewaySettings | None = None, **settings_kw: Any
) -> Iterator[Env]:
    settings = Settings(data_dir=tmp_path / "data", **settings_kw)
    store = LocalStore(settings.data_dir / "store")
    server, address, fake = serve_fake(store, step_s=0.02, video=video)
    settings.orchestrator_addr = address
    gw = gw or GatewaySettings(health_check_stages=False, rate_limit_per_minute=0)
    try:
        with TestClient(create_app(settings, gw, store)) as client:
            yield Env(client, fake, store)
    finally:
        server.stop(0)


@pytest.fixture
def env(tmp_path: Path, video_bytes: bytes) -> Iterator[Env]:
    yield from make_env(tmp_path, video_bytes, max_upload_mb=1)


def sse_events(text: str) -> list[tuple[str, dict]]:
    events = []
    for block in text.split("\n\n"):
        kind = next((ln[7:] for ln in block.splitlines() if ln.startswith("event: ")), None)
        data = next((ln[6:] for ln in block.splitlines() if ln.startswith("data: ")), None)
        if kind and data:
            events.append((kind, json.loads(data)))
    return events


@pytest.fixture
def pid(env: Env) -> str:
    """A created project (one character image), not started."""
    resp = env.create(images=[png_bytes()])
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


@dataclass
class Completed:
    pid: str
    # The SSE stream read from the start of the run to its end.
    events: list[tuple[str, dict]]
    content_type: str


@pytest.fixture
def completed(env: Env, pid: str) -> Completed:
    """A project run to completion while an SSE client followed it."""
    # Steps long enough for the client to subscribe before the first progress event: a
    # follower sees the current state and what happens after, not progress already past.
    env.fake.step_s = 0.15
    resp = env.client.post(env.url(pid, "/process"))
    assert resp.status_code == 202, resp.text
    with env.client.stream("GET", env.url(pid, "/events")) as stream:
        content_type = stream.headers["content-type"]
        events = sse_events(stream.read().decode())
    assert events[-1] == ("end", {"status": "completed"})
    return Completed(pid, events, content_type)


@pytest.fixture
def running(env: Env, pid: str) -> str:
    """A project whose run is in progress (slow steps, so it stays running)."""
    env.fake.step_s = 0.5
    assert env.client.post(env.url(pid, "/process")).status_code == 202
    return pid


@pytest.fixture
def cancelled(env: Env, running: str) -> str:
    resp = env.client.post(env.url(running, "/cancel"))
    assert resp.status_code == 202, resp.text
    return running


@pytest.fixture
def regenerable(env: Env, cancelled: str) -> str:
    """A project the (fake) orchestrator reports as completed with one segment."""
    project = env.fake.projects[cancelled]
    project.state = stages.state_value("completed")
    project.segments.add(index=0, start_frame=0, end_frame=10)
    return cancelled


# ---------------------------------------------------------------- create


@pytest.fixture
def created(env: Env) -> httpx.Response:
    """A create with two images (PNG, JPEG), fps and size."""
    return env.create(images=[png_bytes(), png_bytes(fmt="JPEG")], fps="24", size="640x360")


def test_create_answers_201_with_a_new_id_and_location(created: httpx.Response) -> None:
    assert created.status_code == 201, created.text
    body = created.json()
    assert re.fullmatch(r"[0-9a-f]{32}", body["id"])
    assert created.headers["location"] == f"/api/v1/projects/{body['id']}"


def test_create_answers_the_created_project(created: httpx.Response) -> None:
    body = created.json()
    assert body["status"] == "created"
    assert body["prompt"] == "neon city at night"
    assert body["character_image_count"] == 2


def test_create_echoes_the_options(created: httpx.Response) -> None:
    options = created.json()["options"]
    assert options["fps"] == 24
    assert (options["width"], options["height"]) == (640, 360)


def test_create_reports_what_it_found_in_the_song(created: httpx.Response) -> None:
    audio = created.json()["audio"]
    assert audio["sample_rate"] == 22050
    assert abs(audio["duration_seconds"] - 1.0) < 0.05


def test_create_stores_uploads_under_the_contract_keys(env: Env, created: httpx.Response) -> None:
    pid = created.json()["id"]
    assert env.uploads() == [
        f"{pid}/audio.wav",
        f"{pid}/character_0.png",
        f"{pid}/character_1.jpg",
    ]
    assert env.fake.projects[pid].audio.key == contract.audio_key(pid, "wav")
    assert contract.audio_key(pid, "wav") == f"uploads/{pid}/audio.wav"


def test_client_file_names_never_become_paths(env: Env) -> None:
    resp = env.client.post(
        f"{API}/projects",
        data={"prompt": "p"},
        files=[
            ("audio", ("../../../etc/evil.wav", wav_bytes(), "audio/wav")),
            ("character_images", ("/abs/x.exe", png_bytes(), "image/png")),
        ],
    )
    assert resp.status_code == 201, resp.text
    pid = resp.json()["id"]
    assert env.uploads() == [f"{pid}/audio.wav", f"{pid}/character_0.png"]
    assert not (env.store.root.parent / "etc").exists()


def test_the_image_limit_is_accepted(env: Env) -> None:
    resp = env.create(images=[png_bytes()] * contract.MAX_CHARACTER_IMAGES)
    assert resp.status_code == 201, resp.text
    assert resp.json()["character_image_count"] == contract.MAX_CHARACTER_IMAGES


def test_five_character_images_are_rejected_at_upload_with_the_limit(env: Env) -> None:
    """Regression: 5 images used to be accepted (201) and then fail in the seeder."""
    assert contract.MAX_CHARACTER_IMAGES == 4
    resp = env.create(images=[png_bytes()] * 5)
    assert resp.status_code == 400, resp.text
    assert "5 character images; at most 4" in resp.json()["detail"]
    assert env.uploads() == []
    assert "CreateProject" not in env.fake.calls


def test_non_audio_upload_is_rejected_and_nothing_is_stored(env: Env) -> None:
    resp = env.client.post(
        f"{API}/projects",
        data={"prompt": "anything"},
        files={"audio": ("notes.mp3", b"just text pretending to be an mp3\n" * 40, "audio/mpeg")},
    )
    assert resp.status_code == 400
    assert "could not be decoded as audio" in resp.json()["detail"]
    assert env.uploads() == []
    assert "CreateProject" not in env.fake.calls


# A multipart body with only a prompt (httpx sends urlencoded when there are no files).
PROMPT_ONLY = b'--b\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nx\r\n--b--\r\n'


def test_missing_audio_is_422(env: Env) -> None:
    resp = env.client.post(
        f"{API}/projects",
        content=PROMPT_ONLY,
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    assert resp.status_code == 422, resp.text
    assert "audio" in resp.json()["detail"]
    assert env.uploads() == []


def test_an_unexpected_file_field_is_400(env: Env) -> None:
    resp = env.client.post(
        f"{API}/projects", data={"prompt": "x"}, files={"lyrics_": ("", b"", "text/plain")}
    )
    assert resp.status_code == 400
    assert env.uploads() == []


@pytest.mark.parametrize(
    ("data", "files", "status", "needle"),
    [
        ({}, {"audio": ("s.wav", wav_bytes(0.2), "audio/wav")}, 422, "prompt"),
        ({"prompt": "   "}, {"audio": ("s.wav", wav_bytes(0.2), "audio/wav")}, 422, "prompt"),
        (
            {"prompt": "x", "colour": "red"},
            {"audio": ("s.wav", wav_bytes(0.2), "audio/wav")},
            400,
            "colour",
        ),
        (
            {"prompt": "x"},
            {"audio": ("s.wav", wav_bytes(0.2), "audio/wav"), "prompt": ("p", b"x", "text/plain")},
            400,
            "must be text",
        ),
    ],
)
def test_missing_and_unexpected_fields(
    env: Env, data: dict, files: dict, status: int, needle: str
) -> None:
    resp = env.client.post(f"{API}/projects", data=data, files=files)
    assert resp.status_code == status, resp.text
    assert needle in resp.json()["detail"]
    assert env.uploads() == []


def test_wrong_content_type_is_415(env: Env) -> None:
    resp = env.client.post(f"{API}/projects", json={"prompt": "x"})
    assert resp.status_code == 415
    assert "multipart/form-data" in resp.json()["detail"]


def test_oversized_audio_is_413_and_leaves_nothing(env: Env) -> None:
    big = wav_bytes(30.0)  # ~1.3 MB > the 1 MiB limit of this env
    assert len(big) > 1 << 20
    resp = env.client.post(
        f"{API}/projects",
        data={"prompt": "x"},
        files={"audio": ("big.wav", big, "audio/wav")},
    )
    assert resp.status_code == 413
    assert "limit" in resp.json()["detail"]
    assert env.uploads() == []


def test_declared_content_length_over_limit_is_rejected_before_reading(env: Env) -> None:
    resp = env.client.post(
        f"{API}/projects",
        content=b"--b--\r\n",
        headers={
            "content-type": "multipart/form-data; boundary=b",
            "content-length": str(1 << 30),
        },
    )
    assert resp.status_code == 413


@pytest.mark.parametrize(
    ("image", "needle"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"garbage" * 20, "could not be decoded as an image"),
        (png_bytes(fmt="GIF"), "GIF"),
        (png_bytes()[:60], "could not be decoded as an image"),
        # Issue 14, defect 8: what the seeder would reject is rejected at upload, with its rule.
        (b'<svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>', "not a readable PNG"),
        (png_bytes(size=(5, 5)), "at least 16 px a side"),
        (png_bytes(size=(8000, 5000)), "megapixels"),
        (png_bytes(size=(200, 200), figure=False), "no visible figure"),
    ],
)
def test_bad_character_images_are_rejected(env: Env, image: bytes, needle: str) -> None:
    resp = env.create(images=[png_bytes(), image])
    assert resp.status_code == 400
    detail = resp.json()["detail"]
    assert "character image 2" in detail and needle in detail
    assert "/tmp" not in detail and str(env.store.root) not in detail  # no server paths
    assert env.uploads() == []


@pytest.mark.parametrize(
    ("form", "needle"),
    [
        ({"fps": "0"}, f"fps must be between 1 and {contract.MAX_FPS}"),
        ({"fps": "abc"}, "fps must be a whole number"),
        ({"width": "641", "height": "360"}, "width must be even"),
        ({"width": "640"}, "both width and height"),
        ({"size": "big"}, "size must look like"),
        ({"quality": "ultra"}, "quality must be one of"),
        ({"aspect": "16:0"}, "aspect must look like"),
        ({"key_moments": "1"}, "at least 2"),
        ({"seed": "-1"}, "seed must be between"),
        # Issue 14, defect 8: 0x0 is not "the default size", and only ASCII digits are numbers.
        ({"size": "0x0"}, "width must be between"),
        ({"size": "\uff11\uff12\uff18\uff10x720"}, "size must look like"),
        ({"width": "\u0661\u0662\u0668\u0660", "height": "720"}, "width must be a whole number"),
        ({"width": "640", "height": str(contract.MAX_HEIGHT + 2)}, "height must be between"),
    ],
)
def test_bad_options_are_400_with_a_specific_message(env: Env, form: dict, needle: str) -> None:
    resp = env.create(**form)
    assert resp.status_code == 400
    assert needle in resp.json()["detail"]
    assert env.uploads() == []


@pytest.fixture
def with_lyrics(env: Env) -> tuple[httpx.Response, bytes]:
    """A create with aspect, quality, seed, style, key moments and an LRC file."""
    lyrics = b"[00:00.50] hello\n[00:01.00] world\n"
    resp = env.client.post(
        f"{API}/projects",
        data={
            "prompt": "p",
            "aspect": "9:16",
            "quality": "draft",
            "seed": "42",
            "style": "watercolour",
            "key_moments": "5",
        },
        files=[
            ("audio", ("a.wav", wav_bytes(), "audio/wav")),
            ("lyrics", ("song.lrc", lyrics, "text/plain")),
        ],
    )
    assert resp.status_code == 201, resp.text
    return resp, lyrics


def test_aspect_and_quality_choose_the_size(with_lyrics: tuple[httpx.Response, bytes]) -> None:
    o = with_lyrics[0].json()["options"]
    assert (o["width"], o["height"]) == (540, 960)


def test_quality_seed_style_and_key_moments_are_kept(
    with_lyrics: tuple[httpx.Response, bytes],
) -> None:
    o = with_lyrics[0].json()["options"]
    assert (o["quality"], o["seed"], o["style"], o["key_moment_count"]) == (
        "draft",
        42,
        "watercolour",
        5,
    )


def test_lyrics_are_stored(env: Env, with_lyrics: tuple[httpx.Response, bytes]) -> None:
    resp, lyrics = with_lyrics
    pid = resp.json()["id"]
    assert resp.json()["has_lyrics"]
    assert env.store.get_bytes(contract.lyrics_key(pid, "lrc")) == lyrics


def test_binary_lyrics_are_rejected(env: Env) -> None:
    resp = env.client.post(
        f"{API}/projects",
        data={"prompt": "p"},
        files=[
            ("audio", ("a.wav", wav_bytes(), "audio/wav")),
            ("lyrics", ("song.txt", b"\xff\xfe\x00\x00bad", "text/plain")),
        ],
    )
    assert resp.status_code == 400
    assert "lyrics" in resp.json()["detail"]


# ---------------------------------------------------------------- read / list / errors


def test_an_unknown_id_is_404(env: Env) -> None:
    resp = env.client.get(env.url("0123456789abcdef0123456789abcdef"))
    assert resp.status_code == 404
    assert "not found" in resp.json()["detail"]


def test_an_invalid_id_is_400(env: Env) -> None:
    resp = env.client.get(env.url("bad%20id!"))
    assert resp.status_code == 400
    assert "invalid project id" in resp.json()["detail"]


def test_an_id_outside_the_contract_rule_is_400(env: Env) -> None:
    resp = env.client.get(env.url("Upper_Case"))
    assert not contract.is_project_id("Upper_Case")
    assert resp.status_code == 400


def test_a_path_traversal_id_never_reaches_the_store(env: Env) -> None:
    assert env.client.get(env.url("..%2F..%2Fetc", "/video")).status_code in (400, 404)


def test_the_project_id_rule_is_in_the_openapi_schema(env: Env) -> None:
    spec = env.client.get("/openapi.json").json()
    params = spec["paths"]["/api/v1/projects/{project_id}"]["get"]["parameters"]
    (param,) = [p for p in params if p["name"] == "project_id"]
    assert param["schema"]["pattern"] == contract.PROJECT_ID_PATTERN


@pytest.fixture
def three(env: Env) -> list[str]:
    return [env.create(prompt=f"p{i}").json()["id"] for i in range(3)]


def test_list_projects_shows_every_project(env: Env, three: list[str]) -> None:
    body = env.client.get(f"{API}/projects").json()
    assert {p["id"] for p in body["projects"]} == set(three)
    assert all(p["status"] == "created" for p in body["projects"])


def test_list_projects_pages(env: Env, three: list[str]) -> None:
    page = env.client.get(f"{API}/projects", params={"limit": 2}).json()
    assert len(page["projects"]) == 2 and page["next_page_token"]


def test_list_projects_limit_must_be_positive(env: Env) -> None:
    assert env.client.get(f"{API}/projects", params={"limit": 0}).status_code == 422


# ---------------------------------------------------------------- a run, followed over SSE


def test_video_before_completion_is_409_naming_the_state(env: Env, pid: str) -> None:
    resp = env.client.get(env.url(pid, "/video"))
    assert resp.status_code == 409
    assert "created" in resp.json()["detail"]


def test_process_answers_202_processing(env: Env, pid: str) -> None:
    resp = env.client.post(env.url(pid, "/process"))
    assert resp.status_code == 202
    assert resp.json()["status"] == "processing"


def test_process_while_processing_is_409(env: Env, running: str) -> None:
    resp = env.client.post(env.url(running, "/process"))
    assert resp.status_code == 409  # FAILED_PRECONDITION: already processing


def test_events_are_an_event_stream(completed: Completed) -> None:
    assert completed.content_type.startswith("text/event-stream")


def test_events_start_with_the_project_and_end_with_project_then_end(
    completed: Completed,
) -> None:
    kinds = [k for k, _ in completed.events]
    assert kinds[0] == "project" and kinds[-2:] == ["project", "end"]


def test_events_pass_through_every_stage_state_in_order(completed: Completed) -> None:
    states = [d["status"] for k, d in completed.events if k == "state"]
    assert states[-4:] == [
        "concept_generated",
        "seeds_generated",
        "animations_generated",
        "completed",
    ]
    assert states[-4:] == [stages.state_name(s.reaches) for s in stages.PIPELINE]


def test_progress_events_name_the_stage(completed: Completed) -> None:
    events = completed.events
    assert any(k == "progress" and d["progress"]["stage"] == "concept" for k, d in events)


def test_the_last_project_event_has_the_results(completed: Completed) -> None:
    final = completed.events[-2][1]
    assert final["video_url"] == f"/api/v1/projects/{completed.pid}/video"
    assert final["concept"]["tempo_bpm"] == 120.0
    assert [m["id"] for m in final["concept"]["key_moments"]] == ["km0", "km1", "km2"]


def test_events_of_a_finished_project_answer_at_once(env: Env, completed: Completed) -> None:
    events = sse_events(env.client.get(env.url(completed.pid, "/events")).text)
    assert [k for k, _ in events] == ["project", "end"]
    assert events[-1][1]["status"] == "completed"


# ---------------------------------------------------------------- downloads


def test_video_downloads_whole(env: Env, completed: Completed, video_bytes: bytes) -> None:
    resp = env.client.get(env.url(completed.pid, "/video"))
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "video/mp4"
    assert resp.headers["accept-ranges"] == "bytes"
    assert resp.content == video_bytes


@pytest.mark.parametrize(
    ("header", "piece"),
    [
        ("bytes=100-199", slice(100, 200)),
        ("bytes=-50", slice(-50, None)),
        ("bytes=1000-", slice(1000, None)),
    ],
)
def test_video_serves_byte_ranges(
    env: Env, completed: Completed, video_bytes: bytes, header: str, piece: slice
) -> None:
    resp = env.client.get(env.url(completed.pid, "/video"), headers={"Range": header})
    assert resp.status_code == 206
    assert resp.content == video_bytes[piece]


def test_a_range_has_its_content_range(env: Env, completed: Completed, video_bytes: bytes) -> None:
    resp = env.client.get(env.url(completed.pid, "/video"), headers={"Range": "bytes=100-199"})
    assert resp.headers["content-range"] == f"bytes 100-199/{len(video_bytes)}"


def test_a_range_past_the_end_is_416(env: Env, completed: Completed, video_bytes: bytes) -> None:
    size = len(video_bytes)
    resp = env.client.get(env.url(completed.pid, "/video"), headers={"Range": f"bytes={size}-"})
    assert resp.status_code == 416
    assert resp.headers["content-range"] == f"bytes */{size}"


@pytest.fixture
def etag(env: Env, completed: Completed) -> str:
    return str(env.client.head(env.url(completed.pid, "/video")).headers["etag"])


def test_head_gives_the_length_and_the_content_hash(
    env: Env, completed: Completed, video_bytes: bytes
) -> None:
    resp = env.client.head(env.url(completed.pid, "/video"))
    assert resp.status_code == 200 and resp.headers["content-length"] == str(len(video_bytes))
    assert resp.headers["etag"] == f'"{hashlib.sha256(video_bytes).hexdigest()}"'


def test_if_none_match_is_304(env: Env, completed: Completed, etag: str) -> None:
    resp = env.client.get(env.url(completed.pid, "/video"), headers={"If-None-Match": etag})
    assert resp.status_code == 304 and resp.content == b""


def test_if_range_with_the_current_etag_serves_the_range(
    env: Env, completed: Completed, etag: str
) -> None:
    ranged = {"Range": "bytes=0-9", "If-Range": etag}
    assert env.client.get(env.url(completed.pid, "/video"), headers=ranged).status_code == 206


def test_if_range_with_a_stale_validator_serves_the_whole_file(
    env: Env, completed: Completed, video_bytes: bytes
) -> None:
    ranged = {"Range": "bytes=0-9", "If-Range": '"stale"'}
    resp = env.client.get(env.url(completed.pid, "/video"), headers=ranged)
    assert resp.status_code == 200 and len(resp.content) == len(video_bytes)


def test_keyframes_are_listed_in_timeline_order(env: Env, completed: Completed) -> None:
    keyframes = env.client.get(env.url(completed.pid, "/keyframes")).json()
    assert [k["key_moment_id"] for k in keyframes] == ["km0", "km1", "km2"]


def test_a_keyframe_url_serves_its_png(env: Env, completed: Completed) -> None:
    keyframes = env.client.get(env.url(completed.pid, "/keyframes")).json()
    resp = env.client.get(keyframes[1]["url"])
    assert resp.status_code == 200 and resp.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(resp.content)).getpixel((5, 5)) == (40, 200, 40)


def test_a_missing_keyframe_is_404(env: Env, completed: Completed) -> None:
    assert env.client.get(env.url(completed.pid, "/keyframes/7")).status_code == 404


def test_the_contact_sheet_is_the_seeders_artifact(env: Env, completed: Completed) -> None:
    resp = env.client.get(env.url(completed.pid, "/contact-sheet"))
    assert resp.status_code == 200 and resp.headers["content-type"] == "image/png"
    key = env.fake.projects[completed.pid].contact_sheet.key
    assert resp.content == env.store.get_bytes(key)


def test_the_storyboard_strip_is_the_contact_sheet(env: Env, completed: Completed) -> None:
    strip = env.client.get(env.url(completed.pid, "/storyboard.png"))
    assert strip.status_code == 200
    assert strip.content == env.client.get(env.url(completed.pid, "/contact-sheet")).content


# ---------------------------------------------------------------- storyboard


@pytest.fixture
def storyboard(env: Env, completed: Completed) -> dict:
    resp = env.client.get(env.url(completed.pid, "/storyboard"))
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def test_the_storyboard_lists_every_shot_in_order(storyboard: dict) -> None:
    assert [s["id"] for s in storyboard["shots"]] == ["shot-001", "shot-002", "shot-003"]
    assert [s["index"] for s in storyboard["shots"]] == [0, 1, 2]


def test_storyboard_shots_have_frames_at_the_project_fps(env: Env, storyboard: dict) -> None:
    fps = storyboard["fps"]
    for shot in storyboard["shots"]:
        assert shot["start_frame"] == contract.time_to_frame(shot["start_time"], fps)
        assert shot["end_frame"] == contract.time_to_frame(shot["end_time"], fps)
    assert storyboard["shots"][-1]["end_frame"] == contract.total_frames(2.0, fps)


def test_storyboard_shots_name_their_section_and_vocabulary(storyboard: dict) -> None:
    shot = storyboard["shots"][1]
    assert shot["section"] == {"index": 0, "label": "chorus 1", "role": "chorus"}
    assert (shot["framing"], shot["move"], shot["entry"]) == ("subject", "orbit", "cut")
    assert shot["framing"] in storyboard["vocabulary"]["framing"]
    assert "close_up" in storyboard["vocabulary"]["framing"]


def test_storyboard_shots_link_their_keyframes(env: Env, storyboard: dict) -> None:
    resp = env.client.get(storyboard["shots"][1]["keyframe_url"])
    assert Image.open(io.BytesIO(resp.content)).getpixel((5, 5)) == (40, 200, 40)


def test_the_storyboard_says_where_it_comes_from(storyboard: dict) -> None:
    assert (storyboard["source"], storyboard["subject"]) == ("director", "dancer")
    assert storyboard["strip_url"].endswith("/storyboard.png")


def test_the_storyboard_before_the_concept_is_404(env: Env, pid: str) -> None:
    resp = env.client.get(env.url(pid, "/storyboard"))
    assert resp.status_code == 404 and "no storyboard yet" in resp.json()["detail"]


def test_an_edit_keeps_what_it_does_not_mention(
    env: Env, completed: Completed, storyboard: dict
) -> None:
    shots = [{"id": s["id"], "prompt": s["prompt"]} for s in storyboard["shots"]]
    shots[0]["prompt"] = "a red door"
    resp = env.client.put(env.url(completed.pid, "/storyboard"), json={"shots": shots})
    assert resp.status_code == 200, resp.text
    first = resp.json()["shots"][0]
    assert (first["prompt"], first["framing"], first["move"]) == ("a red door", "wide", "push_in")
    assert resp.json()["source"] == "user"


def test_an_unknown_framing_is_400_listing_the_known(
    env: Env, completed: Completed, storyboard: dict
) -> None:
    shots = [{"id": s["id"]} for s in storyboard["shots"]]
    shots[2]["framing"] = "extreme_close"
    resp = env.client.put(env.url(completed.pid, "/storyboard"), json={"shots": shots})
    assert resp.status_code == 400
    assert "unknown framing 'extreme_close'" in resp.json()["detail"]
    assert "close_up" in resp.json()["detail"]


def test_an_unknown_shot_field_is_400(env: Env, completed: Completed, storyboard: dict) -> None:
    shots = [{"id": s["id"]} for s in storyboard["shots"]]
    shots[0]["promt"] = "typo"
    resp = env.client.put(env.url(completed.pid, "/storyboard"), json={"shots": shots})
    assert resp.status_code == 400 and "promt" in resp.json()["detail"]


def test_regenerate_a_shot_by_index_passes_its_id_on(env: Env, completed: Completed) -> None:
    resp = env.client.post(
        env.url(completed.pid, "/regenerate"), json={"shot": 1, "prompt": "rain", "seed": 3}
    )
    assert resp.status_code == 202, resp.text
    assert "RegenerateSegment:0:rain:shot=shot-002" in env.fake.calls


def test_regenerate_a_shot_by_id_passes_it_on(env: Env, completed: Completed) -> None:
    resp = env.client.post(env.url(completed.pid, "/regenerate"), json={"shot": "shot-003"})
    assert resp.status_code == 202, resp.text
    assert "RegenerateSegment:0::shot=shot-003" in env.fake.calls


def test_regenerate_an_unknown_shot_is_400(env: Env, completed: Completed) -> None:
    resp = env.client.post(env.url(completed.pid, "/regenerate"), json={"shot": 9})
    assert resp.status_code == 400 and "shot 9 does not exist" in resp.json()["detail"]


def test_regenerate_needs_a_segment_or_a_shot(env: Env, completed: Completed) -> None:
    resp = env.client.post(env.url(completed.pid, "/regenerate"), json={"prompt": "x"})
    assert resp.status_code == 400 and "exactly one" in resp.json()["detail"]


def test_regenerate_a_segment_by_body_passes_it_on(env: Env, regenerable: str) -> None:
    resp = env.client.post(env.url(regenerable, "/regenerate"), json={"segment": 0, "prompt": "a"})
    assert resp.status_code == 202, resp.text
    assert "RegenerateSegment:0:a" in env.fake.calls


def test_create_passes_a_storyboard_on(env: Env) -> None:
    board = {"shots": [{"id": "one", "start_time": 0, "end_time": 2.0, "framing": "wide"}]}
    resp = env.create(storyboard=json.dumps(board))
    assert resp.status_code == 201, resp.text
    given = env.fake.projects[resp.json()["id"]].initial_storyboard
    assert [s.id for s in given.shots] == ["one"]


def test_create_with_a_storyboard_that_is_not_json_is_400(env: Env) -> None:
    resp = env.create(storyboard="{shots: [")
    assert resp.status_code == 400 and "storyboard is not valid JSON" in resp.json()["detail"]


def test_the_contact_sheet_before_keyframes_is_409(env: Env, pid: str) -> None:
    resp = env.client.get(env.url(pid, "/contact-sheet"))
    assert resp.status_code == 409 and "no keyframes yet" in resp.json()["detail"]


def test_the_concept_is_served_in_full(env: Env, completed: Completed) -> None:
    concept = env.client.get(env.url(completed.pid, "/concept")).json()
    assert concept["tempo_bpm"] == 120.0 and len(concept["key_moments"]) == 3


def test_polling_a_running_project_is_served_from_the_followed_copy(env: Env) -> None:
    env.fake.step_s = 0.1
    pid = env.create().json()["id"]
    env.client.post(env.url(pid, "/process"))
    order = ["processing", "concept_generated", "seeds_generated", "animations_generated"]
    order.append("completed")
    seen: list[str] = []
    polls = 0
    before = env.fake.calls.count("GetProject")
    for _ in range(400):
        body = env.client.get(env.url(pid)).json()
        polls += 1
        if not seen or seen[-1] != body["status"]:
            seen.append(body["status"])
        if body["status"] == "completed":
            break
        time.sleep(0.01)
    assert seen == order, seen  # every state, in order, none skipped backwards
    gets = env.fake.calls.count("GetProject") - before
    # A few orchestrator reads per state change (re-read, metrics), not one per poll.
    assert gets <= 3 * len(order) < polls
    final = env.client.get(env.url(pid)).json()
    assert final["video_url"] and len(final["keyframes"]) == 3


@pytest.fixture
def failed(env: Env) -> str:
    pid = env.create(prompt="please fail").json()["id"]
    env.client.post(env.url(pid, "/process"))
    events = sse_events(env.client.get(env.url(pid, "/events")).text)
    assert events[-1] == ("end", {"status": "failed"})
    return str(pid)


def test_a_failed_project_reports_the_stage_and_the_reason(env: Env, failed: str) -> None:
    body = env.client.get(env.url(failed)).json()
    assert body["status"] == "failed"
    assert (body["failed_stage"], body["error"]) == ("seeder", "the seeder failed on purpose")


def test_the_video_of_a_failed_project_is_409(env: Env, failed: str) -> None:
    assert env.client.get(env.url(failed, "/video")).status_code == 409


# ---------------------------------------------------------------- cancel / preview / regenerate


def test_cancel_of_a_project_not_running_is_409(env: Env, pid: str) -> None:
    assert env.client.post(env.url(pid, "/cancel")).status_code == 409


def test_cancel_stops_a_running_project(env: Env, running: str) -> None:
    resp = env.client.post(env.url(running, "/cancel"))
    assert resp.status_code == 202 and resp.json()["status"] == "cancelled"


def test_preview_is_accepted_and_then_downloads(env: Env, cancelled: str) -> None:
    assert env.client.post(env.url(cancelled, "/preview")).status_code == 202
    resp = env.client.get(env.url(cancelled, "/preview"))
    assert resp.status_code == 200 and resp.headers["content-type"] == "video/mp4"


def test_regenerate_needs_a_completed_project(env: Env, cancelled: str) -> None:
    resp = env.client.post(env.url(cancelled, "/segments/0/regenerate"), json={"prompt": "x"})
    assert resp.status_code == 409  # FAILED_PRECONDITION


def test_regenerate_passes_the_segment_and_prompt_on(env: Env, regenerable: str) -> None:
    resp = env.client.post(
        env.url(regenerable, "/segments/0/regenerate"), json={"prompt": "a red door", "seed": 7}
    )
    assert resp.status_code == 202
    assert "RegenerateSegment:0:a red door" in env.fake.calls


def test_regenerate_a_segment_that_does_not_exist_is_400(env: Env, regenerable: str) -> None:
    resp = env.client.post(env.url(regenerable, "/segments/3/regenerate"))
    assert resp.status_code == 400 and "segment 3 does not exist" in resp.json()["detail"]


def test_regenerate_with_a_negative_seed_is_422(env: Env, regenerable: str) -> None:
    resp = env.client.post(env.url(regenerable, "/segments/0/regenerate"), json={"seed": -2})
    assert resp.status_code == 422


def test_delete_removes_the_project_and_its_files(env: Env, cancelled: str) -> None:
    env.client.post(env.url(cancelled, "/preview"))  # something under outputs/ too
    assert any(env.uploads())
    assert env.client.delete(env.url(cancelled)).status_code == 204
    assert env.client.get(env.url(cancelled)).status_code == 404
    assert env.uploads() == []
    assert not (env.store.root / "outputs" / cancelled).exists()


def test_state_names_are_the_seeds(env: Env) -> None:
    from lumiere.v1 import orchestrator_pb2 as opb

    from gateway.views import state_name

    names = [state_name(v) for v in opb.ProjectState.values() if v]
    assert names == [
        "created",
        "processing",
        "concept_generated",
        "seeds_generated",
        "animations_generated",
        "completed",
        "failed",
        "cancelled",
    ]


# ---------------------------------------------------------------- the pipeline table


def test_the_pipeline_endpoint_serves_the_stage_table(env: Env) -> None:
    resp = env.client.get(f"{API}/pipeline")
    assert resp.status_code == 200
    assert resp.json() == stages.table_json()


def test_the_pipeline_lists_the_stages_in_order_with_the_states_they_reach(env: Env) -> None:
    table = env.client.get(f"{API}/pipeline").json()
    assert [(s["name"], s["reaches"]) for s in table["stages"]] == [
        ("concept", "concept_generated"),
        ("seeder", "seeds_generated"),
        ("animator", "animations_generated"),
        ("compose", "completed"),
    ]
    assert set(table["terminal_states"]) == {"completed", "failed", "cancelled"}


# ---------------------------------------------------------------- orchestrator trouble


def test_lost_create_answer_still_returns_the_created_project(
    tmp_path: Path, video_bytes: bytes
) -> None:
    gw = GatewaySettings(rpc_timeout_s=0.3, health_check_stages=False, rate_limit_per_minute=0)
    for env in make_env(tmp_path, video_bytes, gw):
        env.fake.create_delay_s = 0.8  # created, but the answer misses the deadline
        resp = env.create()
        assert resp.status_code == 201, resp.text
        pid = resp.json()["id"]
        assert pid in env.fake.projects
        assert f"{pid}/audio.wav" in env.uploads()  # kept: the project needs them


def test_create_with_the_orchestrator_down_is_503_and_leaves_nothing(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "down", orchestrator_addr="127.0.0.1:9")
    store = LocalStore(settings.data_dir / "store")
    gw = GatewaySettings(rpc_timeout_s=1.0, health_check_stages=False)
    with TestClient(create_app(settings, gw, store)) as client:
        resp = client.post(
            f"{API}/projects",
            data={"prompt": "p"},
            files={"audio": ("s.wav", wav_bytes(), "audio/wav")},
        )
        assert resp.status_code in (503, 504), resp.text
        assert resp.headers.get("retry-after") or resp.status_code == 504
    assert not any(p.is_file() for p in store.root.rglob("*"))


@pytest.fixture
def down(tmp_path: Path) -> Iterator[TestClient]:
    """A gateway whose orchestrator is not there."""
    settings = Settings(data_dir=tmp_path / "x", orchestrator_addr="127.0.0.1:9")
    gw = GatewaySettings(health_check_stages=False, health_timeout_s=0.3, rpc_timeout_s=1.0)
    with TestClient(create_app(settings, gw)) as client:
        yield client


def test_health_is_ok_with_the_orchestrator_serving(env: Env) -> None:
    body = env.client.get("/health").json()
    assert body["status"] == "ok"
    assert body["services"]["orchestrator"]["status"] == "SERVING"


def test_health_is_503_without_the_orchestrator(down: TestClient) -> None:
    resp = down.get("/health")
    assert resp.status_code == 503
    assert resp.json()["status"] == "unavailable"


def test_livez_answers_without_the_orchestrator(down: TestClient) -> None:
    assert down.get("/livez").status_code == 200


def test_an_unavailable_orchestrator_is_503_with_a_message(down: TestClient) -> None:
    resp = down.get(f"{API}/projects")
    assert resp.status_code in (503, 504)
    assert "orchestrator" in resp.json()["detail"]


def test_health_is_degraded_when_a_stage_service_is_down(
    tmp_path: Path, video_bytes: bytes
) -> None:
    gw = GatewaySettings(health_timeout_s=0.3, rate_limit_per_minute=0)
    dead = {"concept_addr": "127.0.0.1:9", "seeder_addr": "127.0.0.1:9"}
    for env in make_env(
        tmp_path, video_bytes, gw, animator_addrs="127.0.0.1:9,127.0.0.1:9", **dead
    ):
        resp = env.client.get("/health")
        assert resp.status_code == 200  # the API still answers; renders would wait or fail
        body = resp.json()
        assert body["status"] == "degraded"
        assert body["services"]["orchestrator"]["status"] == "SERVING"
        assert body["services"]["concept"]["status"] == "UNREACHABLE"
        assert {"animator-0", "animator-1"} <= set(body["services"])


# ---------------------------------------------------------------- metrics, schema, page


@pytest.fixture
def metrics_text(env: Env, pid: str) -> str:
    env.client.get(env.url(pid))
    return str(env.client.get("/metrics").text)


def test_metrics_count_requests_by_route_template(metrics_text: str) -> None:
    assert (
        'lumiere_gateway_requests_total{method="GET",route="/api/v1/projects/{project_id}",'
        'status="200"} 1.0' in metrics_text
    )


def test_metrics_count_projects_by_state(metrics_text: str) -> None:
    assert 'lumiere_projects{state="created"} 1.0' in metrics_text
    assert "lumiere_queue_depth 0.0" in metrics_text


def test_metrics_count_upload_bytes(metrics_text: str) -> None:
    assert "lumiere_gateway_upload_bytes_total" in metrics_text


def test_openapi_documents_the_events_and_the_multipart_create(env: Env) -> None:
    spec = env.client.get("/openapi.json").json()
    assert "/api/v1/projects/{project_id}/events" in spec["paths"]
    create = spec["paths"]["/api/v1/projects"]["post"]
    assert "multipart/form-data" in create["requestBody"]["content"]


def test_docs_and_page_are_served(env: Env) -> None:
    assert env.client.get("/docs").status_code == 200
    page = env.client.get("/")
    assert page.status_code == 200 and "<title>Lumiere" in page.text


# ---------------------------------------------------------------- keys, rate limits, CORS


@pytest.fixture
def keyed(tmp_path: Path, video_bytes: bytes) -> Iterator[Env]:
    gw = GatewaySettings(api_keys="alpha-key,beta-key", health_check_stages=False)
    yield from make_env(tmp_path, video_bytes, gw)


@pytest.fixture
def alphas(keyed: Env) -> str:
    """A project created with alpha-key (the client sends no key afterwards)."""
    keyed.client.headers["X-API-Key"] = "alpha-key"
    pid = keyed.create().json()["id"]
    del keyed.client.headers["X-API-Key"]
    return str(pid)


def test_without_a_key_create_is_401(keyed: Env) -> None:
    resp = keyed.create()
    assert resp.status_code == 401 and "API key" in resp.json()["detail"]


def test_an_unknown_key_is_401(keyed: Env) -> None:
    assert keyed.client.get(f"{API}/projects", headers={"X-API-Key": "nope"}).status_code == 401


def test_service_endpoints_need_no_key(keyed: Env) -> None:
    assert keyed.client.get("/health").status_code == 200
    assert keyed.client.get(f"{API}/pipeline").status_code == 200


def test_the_owner_sees_its_project_by_header(keyed: Env, alphas: str) -> None:
    resp = keyed.client.get(keyed.url(alphas), headers={"X-API-Key": "alpha-key"})
    assert resp.status_code == 200


def test_the_owner_sees_its_project_by_query_parameter(keyed: Env, alphas: str) -> None:
    resp = keyed.client.get(keyed.url(alphas), params={"api_key": "alpha-key"})
    assert resp.status_code == 200


def test_another_key_sees_the_project_as_missing(keyed: Env, alphas: str) -> None:
    keyed.client.headers["Authorization"] = "Bearer beta-key"
    assert keyed.client.get(keyed.url(alphas)).status_code == 404
    assert keyed.client.post(keyed.url(alphas, "/process")).status_code == 404


def test_a_key_lists_only_its_own_projects(keyed: Env, alphas: str) -> None:
    keyed.client.headers["Authorization"] = "Bearer beta-key"
    assert keyed.client.get(f"{API}/projects").json()["projects"] == []
    own = keyed.create().json()["id"]
    assert [p["id"] for p in keyed.client.get(f"{API}/projects").json()["projects"]] == [own]


@pytest.fixture
def limited(tmp_path: Path, video_bytes: bytes) -> Iterator[Env]:
    gw = GatewaySettings(rate_limit_per_minute=6, rate_limit_burst=3, health_check_stages=False)
    yield from make_env(tmp_path, video_bytes, gw)


def test_the_rate_limit_allows_the_burst_then_429(limited: Env) -> None:
    codes = [limited.client.get(f"{API}/projects").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def test_a_rate_limited_answer_says_when_to_retry(limited: Env) -> None:
    for _ in range(3):
        limited.client.get(f"{API}/projects")
    resp = limited.client.get(f"{API}/projects")
    assert resp.status_code == 429
    assert int(resp.headers["retry-after"]) >= 1
    assert "rate limit" in resp.json()["detail"]


def test_health_is_not_rate_limited(limited: Env) -> None:
    for _ in range(4):
        limited.client.get(f"{API}/projects")
    assert limited.client.get("/health").status_code == 200


@pytest.fixture
def cors(tmp_path: Path, video_bytes: bytes) -> Iterator[Env]:
    gw = GatewaySettings(cors_origins="https://app.example", health_check_stages=False)
    yield from make_env(tmp_path, video_bytes, gw)


def test_cors_allows_the_configured_origin(cors: Env) -> None:
    ok = cors.client.get(f"{API}/projects", headers={"Origin": "https://app.example"})
    assert ok.headers["access-control-allow-origin"] == "https://app.example"


def test_cors_ignores_other_origins(cors: Env) -> None:
    other = cors.client.get(f"{API}/projects", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_cors_preflight_allows_the_api_key_header(cors: Env) -> None:
    preflight = cors.client.options(
        f"{API}/projects",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "X-API-Key",
        },
    )
    assert preflight.status_code == 200
    assert "x-api-key" in preflight.headers["access-control-allow-headers"].lower()
