"""The REST API over a real loopback gRPC server (an in-memory fake orchestrator).

Covers the seed's endpoints and contract (paths, multipart fields, state names), upload
validation (non-audio, bad images, oversize, wrong content type, missing fields), downloads with
Range, SSE progress, cancel/delete/regenerate/preview, and the gRPC -> HTTP error mapping.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient
from PIL import Image

from gateway.app import create_app
from gateway.config import GatewaySettings
from services.common.settings import Settings
from services.common.storage import LocalStore
from tests.support.fake_orchestrator import FakeOrchestrator, make_test_video, serve_fake

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def video_bytes() -> bytes:
    return make_test_video(2.0)


def wav_bytes(seconds: float = 1.0, sr: int = 22050) -> bytes:
    t = np.arange(int(seconds * sr)) / sr
    out = io.BytesIO()
    sf.write(out, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), sr, format="WAV")
    return out.getvalue()


def png_bytes(color=(10, 200, 30), size=(64, 48), fmt="PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format=fmt)
    return out.getvalue()


class Env:
    def __init__(self, client: TestClient, fake: FakeOrchestrator, store: LocalStore) -> None:
        self.client, self.fake, self.store = client, fake, store

    def create(self, prompt: str = "neon city at night", **form: Any) -> Any:
        files: list[tuple[str, tuple[str, bytes, str]]] = [
            ("audio", ("song.wav", wav_bytes(), "audio/wav"))
        ]
        for i, img in enumerate(form.pop("images", [])):
            files.append(("character_images", (f"c{i}.png", img, "image/png")))
        return self.client.post("/api/v1/projects", data={"prompt": prompt, **form}, files=files)

    def uploads(self) -> list[str]:
        root = self.store.root / "uploads"
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


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


# ---------------------------------------------------------------- create / validate


def test_create_project_stores_uploads_and_returns_created(env: Env) -> None:
    resp = env.create(images=[png_bytes(), png_bytes(fmt="JPEG")], fps="24", size="640x360")
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert re.fullmatch(r"[0-9a-f]{32}", body["id"])
    assert body["status"] == "created"
    assert body["prompt"] == "neon city at night"
    assert resp.headers["location"] == f"/api/v1/projects/{body['id']}"
    assert body["options"]["fps"] == 24
    assert (body["options"]["width"], body["options"]["height"]) == (640, 360)
    assert body["character_image_count"] == 2
    assert body["audio"]["sample_rate"] == 22050
    assert abs(body["audio"]["duration_seconds"] - 1.0) < 0.05
    pid = body["id"]
    assert env.uploads() == [
        f"{pid}/audio.wav",
        f"{pid}/character_0.png",
        f"{pid}/character_1.jpg",
    ]
    assert env.fake.projects[pid].audio.key == f"uploads/{pid}/audio.wav"


def test_client_file_names_never_become_paths(env: Env) -> None:
    resp = env.client.post(
        "/api/v1/projects",
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


def test_non_audio_upload_is_rejected_and_nothing_is_stored(env: Env) -> None:
    resp = env.client.post(
        "/api/v1/projects",
        data={"prompt": "anything"},
        files={"audio": ("notes.mp3", b"just text pretending to be an mp3\n" * 40, "audio/mpeg")},
    )
    assert resp.status_code == 400
    assert "could not be decoded as audio" in resp.json()["detail"]
    assert env.uploads() == []
    assert "CreateProject" not in env.fake.calls


@pytest.mark.parametrize(
    ("data", "files", "status", "needle"),
    [
        ({"prompt": "x"}, {}, 422, "audio"),
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
    resp = env.client.post("/api/v1/projects", data=data, files=files or None)
    if not files:  # no files: httpx would send urlencoded; force multipart with a dummy field
        resp = env.client.post(
            "/api/v1/projects", data=data, files={"lyrics_": ("", b"", "text/plain")}
        )
        assert resp.status_code == 400  # unexpected file field
        resp = env.client.post(
            "/api/v1/projects",
            content=b'--b\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nx\r\n--b--\r\n',
            headers={"content-type": "multipart/form-data; boundary=b"},
        )
    assert resp.status_code == status, resp.text
    assert needle in resp.json()["detail"]
    assert env.uploads() == []


def test_wrong_content_type_is_415(env: Env) -> None:
    resp = env.client.post("/api/v1/projects", json={"prompt": "x"})
    assert resp.status_code == 415
    assert "multipart/form-data" in resp.json()["detail"]


def test_oversized_audio_is_413_and_leaves_nothing(env: Env) -> None:
    big = wav_bytes(30.0)  # ~1.3 MB > the 1 MiB limit of this env
    assert len(big) > 1 << 20
    resp = env.client.post(
        "/api/v1/projects",
        data={"prompt": "x"},
        files={"audio": ("big.wav", big, "audio/wav")},
    )
    assert resp.status_code == 413
    assert "limit" in resp.json()["detail"]
    assert env.uploads() == []


def test_declared_content_length_over_limit_is_rejected_before_reading(env: Env) -> None:
    resp = env.client.post(
        "/api/v1/projects",
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
    ],
)
def test_bad_character_images_are_rejected(env: Env, image: bytes, needle: str) -> None:
    resp = env.create(images=[png_bytes(), image])
    assert resp.status_code == 400
    detail = resp.json()["detail"]
    assert "character image 2" in detail and needle in detail
    assert env.uploads() == []


@pytest.mark.parametrize(
    ("form", "needle"),
    [
        ({"fps": "0"}, "fps must be between 1 and 60"),
        ({"fps": "abc"}, "fps must be a whole number"),
        ({"width": "641", "height": "360"}, "width must be even"),
        ({"width": "640"}, "both width and height"),
        ({"size": "big"}, "size must look like"),
        ({"quality": "ultra"}, "quality must be one of"),
        ({"aspect": "16:0"}, "aspect must look like"),
        ({"key_moments": "1"}, "at least 2"),
        ({"seed": "-1"}, "seed must be between"),
    ],
)
def test_bad_options_are_400_with_a_specific_message(env: Env, form: dict, needle: str) -> None:
    resp = env.create(**form)
    assert resp.status_code == 400
    assert needle in resp.json()["detail"]
    assert env.uploads() == []


def test_options_aspect_quality_style_and_lyrics(env: Env) -> None:
    lyrics = b"[00:00.50] hello\n[00:01.00] world\n"
    resp = env.client.post(
        "/api/v1/projects",
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
    o = resp.json()["options"]
    assert (o["width"], o["height"]) == (540, 960)
    assert (o["quality"], o["seed"], o["style"], o["key_moment_count"]) == (
        "draft",
        42,
        "watercolour",
        5,
    )
    pid = resp.json()["id"]
    assert resp.json()["has_lyrics"]
    assert env.store.get_bytes(f"uploads/{pid}/lyrics.lrc") == lyrics


def test_binary_lyrics_are_rejected(env: Env) -> None:
    resp = env.client.post(
        "/api/v1/projects",
        data={"prompt": "p"},
        files=[
            ("audio", ("a.wav", wav_bytes(), "audio/wav")),
            ("lyrics", ("song.txt", b"\xff\xfe\x00\x00bad", "text/plain")),
        ],
    )
    assert resp.status_code == 400
    assert "lyrics" in resp.json()["detail"]


# ---------------------------------------------------------------- read / list / errors


def test_unknown_and_invalid_ids(env: Env) -> None:
    resp = env.client.get("/api/v1/projects/0123456789abcdef0123456789abcdef")
    assert resp.status_code == 404
    assert "not found" in resp.json()["detail"]
    resp = env.client.get("/api/v1/projects/bad%20id!")
    assert resp.status_code == 400
    assert "invalid project id" in resp.json()["detail"]
    assert env.client.get("/api/v1/projects/..%2F..%2Fetc/video").status_code in (400, 404)


def test_list_projects(env: Env) -> None:
    ids = [env.create(prompt=f"p{i}").json()["id"] for i in range(3)]
    body = env.client.get("/api/v1/projects").json()
    assert {p["id"] for p in body["projects"]} == set(ids)
    assert all(p["status"] == "created" for p in body["projects"])
    page = env.client.get("/api/v1/projects", params={"limit": 2}).json()
    assert len(page["projects"]) == 2 and page["next_page_token"]
    assert env.client.get("/api/v1/projects", params={"limit": 0}).status_code == 422


def test_full_pipeline_via_sse_then_downloads(env: Env, video_bytes: bytes) -> None:
    pid = env.create(images=[png_bytes()]).json()["id"]
    resp = env.client.get(f"/api/v1/projects/{pid}/video")
    assert resp.status_code == 409
    assert "created" in resp.json()["detail"]

    resp = env.client.post(f"/api/v1/projects/{pid}/process")
    assert resp.status_code == 202
    assert resp.json()["status"] == "processing"
    resp = env.client.post(f"/api/v1/projects/{pid}/process")
    assert resp.status_code == 409  # FAILED_PRECONDITION: already processing

    with env.client.stream("GET", f"/api/v1/projects/{pid}/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = sse_events(stream.read().decode())
    kinds = [k for k, _ in events]
    assert kinds[0] == "project" and kinds[-2:] == ["project", "end"]
    states = [d["status"] for k, d in events if k == "state"]
    assert states[-4:] == [
        "concept_generated",
        "seeds_generated",
        "animations_generated",
        "completed",
    ]
    assert any(k == "progress" and d["progress"]["stage"] == "concept" for k, d in events)
    final = events[-2][1]
    assert final["video_url"] == f"/api/v1/projects/{pid}/video"
    assert final["concept"]["tempo_bpm"] == 120.0
    assert [m["id"] for m in final["concept"]["key_moments"]] == ["km0", "km1", "km2"]

    resp = env.client.get(f"/api/v1/projects/{pid}/video")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "video/mp4"
    assert resp.headers["accept-ranges"] == "bytes"
    assert resp.content == video_bytes
    size = len(video_bytes)

    resp = env.client.get(f"/api/v1/projects/{pid}/video", headers={"Range": "bytes=100-199"})
    assert resp.status_code == 206
    assert resp.headers["content-range"] == f"bytes 100-199/{size}"
    assert resp.content == video_bytes[100:200]
    resp = env.client.get(f"/api/v1/projects/{pid}/video", headers={"Range": "bytes=-50"})
    assert resp.status_code == 206 and resp.content == video_bytes[-50:]
    resp = env.client.get(f"/api/v1/projects/{pid}/video", headers={"Range": "bytes=1000-"})
    assert resp.status_code == 206 and resp.content == video_bytes[1000:]
    resp = env.client.get(f"/api/v1/projects/{pid}/video", headers={"Range": f"bytes={size}-"})
    assert resp.status_code == 416
    assert resp.headers["content-range"] == f"bytes */{size}"
    resp = env.client.head(f"/api/v1/projects/{pid}/video")
    assert resp.status_code == 200 and resp.headers["content-length"] == str(size)
    etag = resp.headers["etag"]
    assert etag == f'"{hashlib.sha256(video_bytes).hexdigest()}"'
    resp = env.client.get(f"/api/v1/projects/{pid}/video", headers={"If-None-Match": etag})
    assert resp.status_code == 304 and resp.content == b""
    # If-Range: ranges only against the same content; a stale validator gets the whole file.
    ranged = {"Range": "bytes=0-9", "If-Range": etag}
    assert env.client.get(f"/api/v1/projects/{pid}/video", headers=ranged).status_code == 206
    ranged["If-Range"] = '"stale"'
    resp = env.client.get(f"/api/v1/projects/{pid}/video", headers=ranged)
    assert resp.status_code == 200 and len(resp.content) == size

    keyframes = env.client.get(f"/api/v1/projects/{pid}/keyframes").json()
    assert [k["key_moment_id"] for k in keyframes] == ["km0", "km1", "km2"]
    resp = env.client.get(keyframes[1]["url"])
    assert resp.status_code == 200 and resp.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(resp.content)).getpixel((5, 5)) == (40, 200, 40)
    assert env.client.get(f"/api/v1/projects/{pid}/keyframes/7").status_code == 404

    resp = env.client.get(f"/api/v1/projects/{pid}/contact-sheet")
    assert resp.status_code == 200 and resp.headers["content-type"] == "image/jpeg"
    sheet = Image.open(io.BytesIO(resp.content))
    assert sheet.width > 3 * 320  # three thumbnails side by side

    concept = env.client.get(f"/api/v1/projects/{pid}/concept").json()
    assert concept["tempo_bpm"] == 120.0 and len(concept["key_moments"]) == 3

    # An SSE subscription to a finished project answers at once and closes.
    events = sse_events(env.client.get(f"/api/v1/projects/{pid}/events").text)
    assert [k for k, _ in events] == ["project", "end"]
    assert events[-1][1]["status"] == "completed"


def test_polling_a_running_project_is_served_from_the_followed_copy(env: Env) -> None:
    env.fake.step_s = 0.1
    pid = env.create().json()["id"]
    env.client.post(f"/api/v1/projects/{pid}/process")
    order = ["processing", "concept_generated", "seeds_generated", "animations_generated"]
    order.append("completed")
    seen: list[str] = []
    polls = 0
    before = env.fake.calls.count("GetProject")
    for _ in range(400):
        body = env.client.get(f"/api/v1/projects/{pid}").json()
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
    final = env.client.get(f"/api/v1/projects/{pid}").json()
    assert final["video_url"] and len(final["keyframes"]) == 3


def test_failed_project_reports_stage_and_reason(env: Env) -> None:
    pid = env.create(prompt="please fail").json()["id"]
    env.client.post(f"/api/v1/projects/{pid}/process")
    events = sse_events(env.client.get(f"/api/v1/projects/{pid}/events").text)
    assert events[-1] == ("end", {"status": "failed"})
    body = env.client.get(f"/api/v1/projects/{pid}").json()
    assert body["status"] == "failed"
    assert (body["failed_stage"], body["error"]) == ("seeder", "the seeder failed on purpose")
    assert env.client.get(f"/api/v1/projects/{pid}/video").status_code == 409


def test_cancel_delete_regenerate_preview(env: Env) -> None:
    env.fake.step_s = 0.5
    pid = env.create().json()["id"]
    assert env.client.post(f"/api/v1/projects/{pid}/cancel").status_code == 409  # not running
    env.client.post(f"/api/v1/projects/{pid}/process")
    resp = env.client.post(f"/api/v1/projects/{pid}/cancel")
    assert resp.status_code == 202 and resp.json()["status"] == "cancelled"

    resp = env.client.post(f"/api/v1/projects/{pid}/preview")
    assert resp.status_code == 202
    resp = env.client.get(f"/api/v1/projects/{pid}/preview")
    assert resp.status_code == 200 and resp.headers["content-type"] == "video/mp4"

    # Regenerating needs a completed project (FAILED_PRECONDITION -> 409) and a real segment.
    resp = env.client.post(f"/api/v1/projects/{pid}/segments/0/regenerate", json={"prompt": "x"})
    assert resp.status_code == 409
    env.fake.projects[pid].state = 6  # completed
    env.fake.projects[pid].segments.add(index=0, start_frame=0, end_frame=10)
    resp = env.client.post(
        f"/api/v1/projects/{pid}/segments/0/regenerate", json={"prompt": "a red door", "seed": 7}
    )
    assert resp.status_code == 202
    assert "RegenerateSegment:0:a red door" in env.fake.calls
    resp = env.client.post(f"/api/v1/projects/{pid}/segments/3/regenerate")
    assert resp.status_code == 400 and "segment 3 does not exist" in resp.json()["detail"]
    resp = env.client.post(f"/api/v1/projects/{pid}/segments/0/regenerate", json={"seed": -2})
    assert resp.status_code == 422

    assert any(env.uploads())
    assert env.client.delete(f"/api/v1/projects/{pid}").status_code == 204
    assert env.client.get(f"/api/v1/projects/{pid}").status_code == 404
    assert env.uploads() == []
    assert not (env.store.root / "outputs" / pid).exists()


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


# ---------------------------------------------------------------- service endpoints


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
            "/api/v1/projects",
            data={"prompt": "p"},
            files={"audio": ("s.wav", wav_bytes(), "audio/wav")},
        )
        assert resp.status_code in (503, 504), resp.text
        assert resp.headers.get("retry-after") or resp.status_code == 504
    assert not any(p.is_file() for p in store.root.rglob("*"))


def test_health_reflects_the_orchestrator(env: Env, tmp_path: Path) -> None:
    body = env.client.get("/health").json()
    assert body["status"] == "ok"
    assert body["services"]["orchestrator"]["status"] == "SERVING"

    settings = Settings(data_dir=tmp_path / "x", orchestrator_addr="127.0.0.1:9")
    gw = GatewaySettings(health_check_stages=False, health_timeout_s=0.3)
    with TestClient(create_app(settings, gw)) as client:
        resp = client.get("/health")
        assert resp.status_code == 503
        assert resp.json()["status"] == "unavailable"
        assert client.get("/livez").status_code == 200
        # gRPC UNAVAILABLE maps to 503 with a message.
        gw.rpc_timeout_s = 1.0
        resp = client.get("/api/v1/projects")
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


def test_metrics_openapi_and_page(env: Env) -> None:
    pid = env.create().json()["id"]
    env.client.get(f"/api/v1/projects/{pid}")
    text = env.client.get("/metrics").text
    assert (
        'lumiere_gateway_requests_total{method="GET",route="/api/v1/projects/{project_id}",'
        'status="200"} 1.0' in text
    )
    assert 'lumiere_projects{state="created"} 1.0' in text
    assert "lumiere_queue_depth 0.0" in text
    assert "lumiere_gateway_upload_bytes_total" in text

    spec = env.client.get("/openapi.json").json()
    assert "/api/v1/projects/{project_id}/events" in spec["paths"]
    create = spec["paths"]["/api/v1/projects"]["post"]
    assert "multipart/form-data" in create["requestBody"]["content"]
    assert env.client.get("/docs").status_code == 200
    page = env.client.get("/")
    assert page.status_code == 200 and "<title>Lumiere" in page.text


def test_api_keys_isolate_projects(tmp_path: Path, video_bytes: bytes) -> None:
    gw = GatewaySettings(api_keys="alpha-key,beta-key", health_check_stages=False)
    for env in make_env(tmp_path, video_bytes, gw):
        c = env.client
        resp = env.create()
        assert resp.status_code == 401 and "API key" in resp.json()["detail"]
        assert c.get("/api/v1/projects", headers={"X-API-Key": "nope"}).status_code == 401
        assert c.get("/health").status_code == 200  # service endpoints stay open

        c.headers["X-API-Key"] = "alpha-key"
        pid = env.create().json()["id"]
        assert c.get(f"/api/v1/projects/{pid}").status_code == 200
        del c.headers["X-API-Key"]
        assert c.get(f"/api/v1/projects/{pid}", params={"api_key": "alpha-key"}).status_code == 200

        c.headers["Authorization"] = "Bearer beta-key"
        assert c.get(f"/api/v1/projects/{pid}").status_code == 404
        assert c.post(f"/api/v1/projects/{pid}/process").status_code == 404
        assert c.get("/api/v1/projects").json()["projects"] == []
        own = env.create().json()["id"]
        assert [p["id"] for p in c.get("/api/v1/projects").json()["projects"]] == [own]


def test_rate_limit_per_key(tmp_path: Path, video_bytes: bytes) -> None:
    gw = GatewaySettings(rate_limit_per_minute=6, rate_limit_burst=3, health_check_stages=False)
    for env in make_env(tmp_path, video_bytes, gw):
        codes = [env.client.get("/api/v1/projects").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        resp = env.client.get("/api/v1/projects")
        assert resp.status_code == 429
        assert int(resp.headers["retry-after"]) >= 1
        assert "rate limit" in resp.json()["detail"]
        assert env.client.get("/health").status_code == 200  # not rate limited


def test_cors_is_configurable(tmp_path: Path, video_bytes: bytes) -> None:
    gw = GatewaySettings(cors_origins="https://app.example", health_check_stages=False)
    for env in make_env(tmp_path, video_bytes, gw):
        ok = env.client.get("/api/v1/projects", headers={"Origin": "https://app.example"})
        assert ok.headers["access-control-allow-origin"] == "https://app.example"
        other = env.client.get("/api/v1/projects", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        preflight = env.client.options(
            "/api/v1/projects",
            headers={
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "X-API-Key",
            },
        )
        assert preflight.status_code == 200
        assert "x-api-key" in preflight.headers["access-control-allow-headers"].lower()
