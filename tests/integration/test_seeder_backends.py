"""HTTP image backends against local servers that speak each documented wire format.

The fake servers run in a thread on loopback (stdlib ThreadingHTTPServer), record what they
received, and answer like Automatic1111's /sdapi/v1/* or OpenAI's /v1/images/generations,
including transient failures to prove the retries.
"""

from __future__ import annotations

import base64
import io
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
import numpy as np
import pytest
from lumiere.v1 import concept_pb2, seeder_pb2, seeder_pb2_grpc
from PIL import Image, ImageDraw

from services.common.images import decode_image
from services.common.settings import Settings
from services.common.storage import LocalStore
from services.seeder.backends import BackendFailed, BackendUnavailable, ImageRequest, make_backend
from services.seeder.backends.automatic1111 import Automatic1111Backend
from services.seeder.backends.openai_images import OpenAIImagesBackend, pick_size
from services.seeder.config import SeederSettings
from services.seeder.server import add_to_server
from tests.support.servers import running_service
from tests.support.storyboards import storyboard_concept

pytestmark = pytest.mark.integration

Handler = Callable[[str, dict[str, str], dict[str, Any]], tuple[int, dict[str, Any]]]


def png_b64(w: int, h: int, color: tuple[int, int, int]) -> str:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), color).save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()


@contextmanager
def fake_server(handler: Handler) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class H(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            headers = {k.lower(): v for k, v in self.headers.items()}
            received.append({"path": self.path, "headers": headers, "json": body})
            status, answer = handler(self.path, headers, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), H)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def a1111_handler(fail_first: int = 0) -> Handler:
    calls = [0]

    def handle(
        path: str, headers: dict[str, str], body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        calls[0] += 1
        if calls[0] <= fail_first:
            return 503, {"detail": "model loading"}
        if path not in ("/sdapi/v1/txt2img", "/sdapi/v1/img2img"):
            return 404, {"detail": "Not Found"}
        color = (200, 30, 30) if path.endswith("txt2img") else (30, 30, 200)
        return 200, {
            "images": [png_b64(body["width"], body["height"], color)],
            "parameters": body,
            "info": json.dumps({"seed": body["seed"]}),
        }

    return handle


def openai_handler(fail_first: int = 0, status: int = 503) -> Handler:
    calls = [0]

    def handle(
        path: str, headers: dict[str, str], body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        calls[0] += 1
        if calls[0] <= fail_first:
            return status, {"error": {"message": "try later", "type": "server_error"}}
        if headers.get("authorization") != "Bearer sk-test":
            return 401, {
                "error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}
            }
        if path != "/v1/images/generations":
            return 404, {"error": {"message": "unknown path"}}
        w, h = (int(x) for x in body["size"].split("x"))
        return 200, {"created": 1700000000, "data": [{"b64_json": png_b64(w, h, (20, 160, 60))}]}

    return handle


def cfg(**kw: Any) -> SeederSettings:
    # No waiting for a down backend here: the tests that want it set down_wait_s.
    return SeederSettings(**{"retries": 3, "timeout_s": 5, "down_wait_s": 0, **kw})


def fast(backend: Any) -> Any:
    backend.backoff_s = 0.01  # keep retry waits short in tests
    return backend


def test_automatic1111_txt2img_wire_format() -> None:
    with fake_server(a1111_handler()) as (url, got):
        backend = fast(Automatic1111Backend(cfg(backend="automatic1111", base_url=url, steps=12)))
        out = backend.generate(ImageRequest("neon city", "blurry", 1280, 720, 1234))
    assert len(got) == 1 and got[0]["path"] == "/sdapi/v1/txt2img"
    body = got[0]["json"]
    assert body["prompt"] == "neon city" and body["negative_prompt"] == "blurry"
    assert body["seed"] == 1234 and body["steps"] == 12
    assert (body["width"], body["height"]) == (1024, 576)  # multiples of 8, <= 1024
    assert "init_images" not in body
    assert out.image.shape == (720, 1280, 3)
    assert tuple(out.image[360, 640]) == (200, 30, 30)
    assert not out.characters_included and len(out.palette) == 5


def test_automatic1111_img2img_with_character_and_retries() -> None:
    init = io.BytesIO()
    Image.new("RGB", (64, 128), (1, 2, 3)).save(init, "PNG")
    with fake_server(a1111_handler(fail_first=2)) as (url, got):
        backend = fast(Automatic1111Backend(cfg(backend="automatic1111", base_url=url)))
        out = backend.generate(ImageRequest("hero", "", 512, 512, 7, init_image=init.getvalue()))
    assert len(got) == 3  # two 503s retried, then success
    assert got[-1]["path"] == "/sdapi/v1/img2img"
    body = got[-1]["json"]
    assert base64.b64decode(body["init_images"][0]) == init.getvalue()
    assert 0 < body["denoising_strength"] <= 1
    assert out.characters_included and tuple(out.image[0, 0]) == (30, 30, 200)


def test_automatic1111_gives_up_with_a_clear_error() -> None:
    with fake_server(a1111_handler(fail_first=99)) as (url, got):
        backend = fast(Automatic1111Backend(cfg(backend="automatic1111", base_url=url)))
        with pytest.raises(
            BackendUnavailable, match="failed after 3 attempts: HTTP 503: model loading"
        ):
            backend.generate(ImageRequest("x", "", 256, 256, 1))
    assert len(got) == 3


def test_unreachable_backend_is_unavailable() -> None:
    backend = fast(
        Automatic1111Backend(cfg(backend="automatic1111", base_url="http://127.0.0.1:9"))
    )
    with pytest.raises(BackendUnavailable, match="ConnectError"):
        backend.generate(ImageRequest("x", "", 256, 256, 1))


def test_openai_wire_format_and_auth() -> None:
    with fake_server(openai_handler(fail_first=1, status=429)) as (url, got):
        backend = fast(OpenAIImagesBackend(cfg(backend="openai", base_url=url, api_key="sk-test")))
        out = backend.generate(ImageRequest("ocean sunset", "text", 1280, 720, 5))
    assert len(got) == 2 and got[-1]["path"] == "/v1/images/generations"
    body = got[-1]["json"]
    assert got[-1]["headers"]["authorization"] == "Bearer sk-test"
    assert body["model"] == "gpt-image-1" and body["n"] == 1 and body["size"] == "1536x1024"
    assert "response_format" not in body  # GPT image models reject it
    assert body["prompt"].startswith("ocean sunset")
    assert out.image.shape == (720, 1280, 3) and tuple(out.image[10, 10]) == (20, 160, 60)


def test_openai_dalle_asks_for_base64_and_portrait_size() -> None:
    assert pick_size("dall-e-3", 720, 1280) == (1024, 1792)
    assert pick_size("gpt-image-1", 1000, 1000) == (1024, 1024)
    with fake_server(openai_handler()) as (url, got):
        backend = OpenAIImagesBackend(
            cfg(backend="openai", base_url=url, api_key="sk-test", model="dall-e-3")
        )
        backend.generate(ImageRequest("x", "", 720, 1280, 5))
    assert got[0]["json"]["response_format"] == "b64_json"
    assert got[0]["json"]["size"] == "1024x1792"


def test_openai_bad_key_fails_at_once_with_the_service_message() -> None:
    with fake_server(openai_handler()) as (url, got):
        backend = fast(OpenAIImagesBackend(cfg(backend="openai", base_url=url, api_key="wrong")))
        with pytest.raises(BackendFailed, match=r"HTTP 401\): Incorrect API key provided"):
            backend.generate(ImageRequest("x", "", 256, 256, 1))
    assert len(got) == 1  # not retried


def test_missing_settings_are_reported() -> None:
    with pytest.raises(BackendFailed, match="LUMIERE_SEEDER_BASE_URL"):
        make_backend(SeederSettings(backend="automatic1111"))
    with pytest.raises(BackendFailed, match="LUMIERE_SEEDER_API_KEY"):
        make_backend(SeederSettings(backend="openai"))


def _character_ref(store: LocalStore) -> Any:
    img = Image.new("RGB", (100, 200), (255, 255, 255))
    ImageDraw.Draw(img).rectangle((30, 20, 70, 190), fill=(240, 200, 0))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return store.put_bytes("uploads/proj/character_0.png", buf.getvalue(), "image/png")


async def generate(
    seeder_cfg: SeederSettings,
    settings: Settings,
    store: LocalStore,
    req: seeder_pb2.GenerateKeyframesRequest,
) -> list[seeder_pb2.GenerateKeyframesEvent]:
    """One GenerateKeyframes call on a real seeder server using the given backend settings."""
    add = partial(add_to_server, cfg=seeder_cfg)
    async with (
        running_service(add, settings, store) as addr,
        grpc.aio.insecure_channel(addr) as ch,
    ):
        stub = seeder_pb2_grpc.SeederServiceStub(ch)
        return [ev async for ev in stub.GenerateKeyframes(req, timeout=30)]


async def test_service_uses_openai_backend_and_composites_characters(
    settings: Settings, store: LocalStore
) -> None:
    concept = concept_pb2.Concept(prompt="ocean sunset")
    for i in range(2):
        concept.key_moments.add(id=f"m{i}", time=float(i), intensity=0.5, prompt="ocean sunset")
    ref = _character_ref(store)
    with fake_server(openai_handler()) as (url, got):
        seeder_cfg = cfg(backend="openai", base_url=url, api_key="sk-test")
        req = seeder_pb2.GenerateKeyframesRequest(
            project_id="proj", concept=concept, width=640, height=360, character_images=[ref]
        )
        events = await generate(seeder_cfg, settings, store, req)
    assert len(got) == 2
    result = events[-1].result
    for kf in result.keyframes:
        assert kf.backend == "openai" and not kf.layers
        img = decode_image(store.get_bytes(kf.image.key))
        assert img.shape == (360, 640, 3)
        # The yellow character is composited over the green generated picture.
        yellow = (img[..., 0] > 150) & (img[..., 1] > 120) & (img[..., 2] < 100)
        assert yellow.mean() > 0.01
    assert np.asarray(decode_image(store.get_bytes(result.contact_sheet.key))).size > 0


async def test_service_maps_backend_refusal_to_failed_precondition(
    settings: Settings, store: LocalStore
) -> None:
    concept = concept_pb2.Concept(prompt="x")
    concept.key_moments.add(id="m0", time=0.0, prompt="x")
    with fake_server(openai_handler()) as (url, _got):
        seeder_cfg = cfg(backend="openai", base_url=url, api_key="wrong")
        req = seeder_pb2.GenerateKeyframesRequest(
            project_id="proj", concept=concept, width=256, height=256
        )
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await generate(seeder_cfg, settings, store, req)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "Incorrect API key" in (err.value.details() or "")


async def test_content_policy_refusal_names_the_shot(settings: Settings, store: LocalStore) -> None:
    def refuse(
        path: str, headers: dict[str, str], body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        # OpenAI's answer to a prompt its safety system rejects.
        error = {
            "message": "Your request was rejected as a result of our safety system.",
            "type": "image_generation_user_error",
            "code": "content_policy_violation",
        }
        return 400, {"error": error}

    concept = storyboard_concept(n_shots=2)
    with fake_server(refuse) as (url, got):
        seeder_cfg = cfg(backend="openai", base_url=url, api_key="sk-test", workers=1)
        req = seeder_pb2.GenerateKeyframesRequest(
            project_id="proj", concept=concept, width=256, height=256
        )
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await generate(seeder_cfg, settings, store, req)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = err.value.details() or ""
    first = concept.storyboard.shots[0].id
    assert f"shot {first} (openai)" in details and "content policy" in details
    assert len(got) == len({g["json"]["prompt"] for g in got})  # terminal: never retried


async def test_http_backends_get_one_request_per_shot_with_its_prompt(
    settings: Settings, store: LocalStore
) -> None:
    concept = storyboard_concept(n_shots=4)
    with fake_server(a1111_handler()) as (url, got):
        seeder_cfg = cfg(backend="automatic1111", base_url=url)
        req = seeder_pb2.GenerateKeyframesRequest(
            project_id="proj", concept=concept, width=320, height=180, seed=5
        )
        events = await generate(seeder_cfg, settings, store, req)
    shots = list(concept.storyboard.shots)
    assert sorted(g["json"]["prompt"] for g in got) == sorted(s.prompt for s in shots)
    assert all(g["path"] == "/sdapi/v1/txt2img" for g in got)
    result = events[-1].result
    assert [k.shot_id for k in result.keyframes] == [s.id for s in shots]
    assert all(k.backend == "automatic1111" and not k.layers for k in result.keyframes)


async def test_openai_shots_get_the_characters_only_where_the_subject_is(
    settings: Settings, store: LocalStore
) -> None:
    concept = storyboard_concept(n_shots=3, subject="characters")  # wide, subject, close-up
    ref = _character_ref(store)
    with fake_server(openai_handler()) as (url, got):
        seeder_cfg = cfg(backend="openai", base_url=url, api_key="sk-test")
        req = seeder_pb2.GenerateKeyframesRequest(
            project_id="proj", concept=concept, width=640, height=360, character_images=[ref]
        )
        events = await generate(seeder_cfg, settings, store, req)
    assert len(got) == 3
    for kf, shot in zip(events[-1].result.keyframes, concept.storyboard.shots, strict=True):
        img = decode_image(store.get_bytes(kf.image.key))
        yellow = (img[..., 0] > 150) & (img[..., 1] > 120) & (img[..., 2] < 100)
        assert (yellow.mean() > 0.01) == shot.subject, shot.id
