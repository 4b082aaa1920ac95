"""The ComfyUI keyframe backend against a loopback server speaking ComfyUI's wire format
(tests/support/comfyui_server.py): the websocket protocol, uploads, history/view, validation
against /object_info, errors, interrupt, and a server that is down for a while."""

from __future__ import annotations

import io
import json
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
from lumiere.v1 import seeder_pb2, seeder_pb2_grpc
from PIL import Image

from services.common.backend_errors import BackendFailed, BackendUnavailable
from services.common.backend_http import RetryPolicy
from services.common.comfyui import Cancelled, ComfyClient
from services.common.comfyui_workflow import TemplateError, load_template, parse_template
from services.common.settings import Settings
from services.common.storage import LocalStore
from services.seeder.backends import ImageRequest, make_backend
from services.seeder.backends.comfyui import DEFAULT_WORKFLOW, ComfyUIBackend
from services.seeder.config import SeederSettings
from services.seeder.server import add_to_server
from tests.support.comfyui_server import Knobs, fake_comfyui
from tests.support.servers import running_service
from tests.support.storyboards import storyboard_concept

pytestmark = pytest.mark.integration

FAST = RetryPolicy(retries=3, backoff_s=0.01)


def backend(url: str, **kw: Any) -> ComfyUIBackend:
    cfg = SeederSettings(**{"backend": "comfyui", "base_url": url, "timeout_s": 20, **kw})
    return ComfyUIBackend(cfg, policy=FAST)


def png(w: int, h: int, color: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), color).save(buf, "PNG")
    return buf.getvalue()


def test_txt2img_over_the_websocket_protocol() -> None:
    with fake_comfyui() as fake:
        b = make_backend(SeederSettings(backend="comfyui", base_url=fake.url))
        assert isinstance(b, ComfyUIBackend)
        b.comfy.policy = FAST
        out = b.generate(ImageRequest("neon city", "blurry", 1280, 720, 1234))
    assert len(fake.prompts) == 1
    sent = fake.prompts[0]
    # Queued with our client id, and followed on a websocket opened with that id first.
    assert sent["client_id"] == b.comfy.client_id and fake.ws_clients == [b.comfy.client_id]
    wf = sent["prompt"]
    assert wf["6"]["inputs"]["text"] == "neon city" and wf["7"]["inputs"]["text"] == "blurry"
    assert wf["3"]["inputs"]["seed"] == 1234
    # 1280x720 within the template's 1024 side limit, multiples of 8.
    assert (wf["5"]["inputs"]["width"], wf["5"]["inputs"]["height"]) == (1024, 576)
    # Validated against /object_info before the first job, then fetched through history/view.
    calls = [c for c in fake.calls if not c.startswith("GET /ws")]
    assert calls[0] == "GET /object_info"
    assert calls[-2].startswith("GET /history/") and calls[-1] == "GET /view"
    assert out.image.shape == (720, 1280, 3)
    assert tuple(out.image[360, 900]) == (1234 * 37 % 256, 1234 * 91 % 256, 128)
    assert out.info["template"] == "txt2img-sd15" and not out.characters_included


def test_character_workflow_uploads_the_guide_and_validates_once() -> None:
    with fake_comfyui() as fake:
        b = backend(fake.url, denoising_strength=0.4)
        guide = png(320, 180, (10, 200, 30))
        out = b.generate(ImageRequest("hero", "", 640, 360, 7, init_image=guide))
        b.generate(ImageRequest("hero again", "", 640, 360, 8))
    assert list(fake.inputs.values()) == [guide]
    wf = fake.prompts[0]["prompt"]
    assert wf["10"]["inputs"]["image"] == next(iter(fake.inputs))
    assert wf["3"]["inputs"]["denoise"] == 0.4
    assert (wf["11"]["inputs"]["width"], wf["11"]["inputs"]["height"]) == (640, 360)
    assert fake.calls.count("GET /object_info") == 2  # once per template, not per job
    # The fake inverts the loaded image: the guide reached the graph.
    assert tuple(out.image[100, 100]) == (245, 55, 225) and out.characters_included


def test_identity_changes_with_the_workflow(tmp_path: Path) -> None:
    binding = json.loads(DEFAULT_WORKFLOW.read_text())
    wf = json.loads((DEFAULT_WORKFLOW.parent / binding["workflow"]).read_text())
    wf["3"]["inputs"]["steps"] = 30
    (tmp_path / "wf.api.json").write_text(json.dumps(wf))
    (tmp_path / "t.json").write_text(json.dumps({**binding, "workflow": "wf.api.json"}))
    a = backend("http://127.0.0.1:9")
    b = backend("http://127.0.0.1:9", comfyui_workflow=str(tmp_path / "t.json"))
    assert a.identity() != b.identity()


def test_missing_node_class_is_named_before_any_job() -> None:
    with (
        fake_comfyui(Knobs(missing=("CheckpointLoaderSimple",))) as fake,
        pytest.raises(TemplateError, match="no node class 'CheckpointLoaderSimple' .node 4"),
    ):
        backend(fake.url).generate(ImageRequest("x", "", 256, 256, 1))
    assert fake.prompts == []


def test_binding_to_an_input_the_node_lacks_is_named() -> None:
    binding = {"inputs": {"prompt": "6.txt"}, "workflow": "-"}
    wf = json.loads((DEFAULT_WORKFLOW.parent / "txt2img.api.json").read_text())
    template = parse_template(binding, wf, "bad.json")
    with (
        fake_comfyui() as fake,
        pytest.raises(TemplateError, match="bound to input 'txt' of node 6 .CLIPTextEncode."),
    ):
        ComfyClient(fake.url, policy=FAST).validate(template)


def test_template_file_errors_are_specific(tmp_path: Path) -> None:
    (tmp_path / "ui.json").write_text(json.dumps({"nodes": [], "links": []}))
    (tmp_path / "t.json").write_text(
        json.dumps({"workflow": "ui.json", "inputs": {"prompt": "1.text"}})
    )
    with pytest.raises(TemplateError, match="Save \\(API\\)"):
        load_template(tmp_path / "t.json")
    wf = {"1": {"class_type": "CLIPTextEncode", "inputs": {"text": ""}}}
    with pytest.raises(TemplateError, match="unknown named input 'colour'"):
        parse_template({"inputs": {"colour": "1.text"}}, wf, "t")
    with pytest.raises(TemplateError, match="names node 2"):
        parse_template({"inputs": {"prompt": "2.text"}}, wf, "t")


def test_execution_error_names_the_node() -> None:
    with (
        fake_comfyui(Knobs(fail_node="VAEDecode")) as fake,
        pytest.raises(BackendFailed, match="node 8 .VAEDecode.: torch.OutOfMemoryError: CUDA"),
    ):
        backend(fake.url).generate(ImageRequest("x", "", 256, 256, 1))


def test_validation_error_of_post_prompt_is_reported() -> None:
    with fake_comfyui() as fake:
        client = ComfyClient(fake.url, policy=FAST)
        wf = {"1": {"class_type": "LoadImage", "inputs": {"image": "nope.png"}}}
        with pytest.raises(BackendFailed, match="node 1 .LoadImage.: Value not in list"):
            client.queue(wf)


def test_progress_and_cancel_send_the_interrupt() -> None:
    template = load_template(DEFAULT_WORKFLOW)
    with fake_comfyui(Knobs(hang=True)) as fake:
        client = ComfyClient(fake.url, policy=FAST)
        seen: list[tuple[str, int, int]] = []
        cancel = threading.Event()

        def progress(stage: str, done: int, total: int) -> None:
            seen.append((stage, done, total))
            if stage == "running" and len(seen) > 4:
                cancel.set()

        with pytest.raises(Cancelled, match="interrupt sent"):
            client.run(template, template.fill({}), deadline_s=20, progress=progress, cancel=cancel)
        time.sleep(0.3)  # the fake notices the interrupt at its next step
        pid = next(iter(fake.history), None)
    assert seen[0][0] == "queued" and ("running", 1, 3) in seen
    assert len(fake.interrupts) == 1 and fake.interrupts[0] != "None"  # targeted at our prompt
    assert pid is not None and fake.history[pid]["status"]["status_str"] == "error"


def test_deadline_interrupts_and_is_retryable() -> None:
    with fake_comfyui(Knobs(hang=True)) as fake:
        b = backend(fake.url, timeout_s=1)
        with pytest.raises(BackendUnavailable, match="deadline"):
            b.generate(ImageRequest("x", "", 256, 256, 1))
    assert fake.interrupts


def test_dropped_websocket_falls_back_to_history() -> None:
    with fake_comfyui(Knobs(drop_ws=True, steps=2)) as fake:
        out = backend(fake.url).generate(ImageRequest("x", "", 256, 256, 3))
    assert out.image.shape == (256, 256, 3)


def test_a_server_that_is_down_is_waited_for() -> None:
    with fake_comfyui() as fake:
        fake.knobs.down_until = time.monotonic() + 1.0
        cfg = SeederSettings(backend="comfyui", base_url=fake.url, timeout_s=20, retries=2)
        b = ComfyUIBackend(cfg, policy=RetryPolicy(retries=2, backoff_s=0.1, down_wait_s=5))
        t0 = time.monotonic()
        out = b.generate(ImageRequest("x", "", 128, 128, 1))
    assert time.monotonic() - t0 >= 0.9 and out.image.shape == (128, 128, 3)
    with fake_comfyui() as fake:
        fake.knobs.down_until = time.monotonic() + 60
        with pytest.raises(BackendUnavailable, match="failed after 3 attempts: HTTP 503"):
            backend(fake.url).generate(ImageRequest("x", "", 128, 128, 1))


def test_unreachable_server_is_unavailable() -> None:
    with pytest.raises(BackendUnavailable, match="ConnectError"):
        backend("http://127.0.0.1:9").generate(ImageRequest("x", "", 64, 64, 1))


def test_shipped_templates_bind_only_known_inputs() -> None:
    for path in DEFAULT_WORKFLOW.parent.glob("*.json"):
        if path.name.endswith(".api.json"):
            continue
        t = load_template(path)
        assert t.needs("prompt") and t.needs("seed") and t.needs("width")
        assert np.all([node in t.workflow for targets in t.inputs.values() for node, _ in targets])


async def test_a_project_may_pick_the_procedural_engine_instead(
    settings: Settings, store: LocalStore
) -> None:
    concept = storyboard_concept(n_shots=2)
    with fake_comfyui() as fake:
        cfg = SeederSettings(backend="comfyui", base_url=fake.url, down_wait_s=0)
        add = partial(add_to_server, cfg=cfg)
        async with (
            running_service(add, settings, store) as addr,
            grpc.aio.insecure_channel(addr) as ch,
        ):
            stub = seeder_pb2_grpc.SeederServiceStub(ch)

            def req(backend: str) -> seeder_pb2.GenerateKeyframesRequest:
                return seeder_pb2.GenerateKeyframesRequest(
                    project_id="proj", concept=concept, width=192, height=108, backend=backend
                )

            events = [ev async for ev in stub.GenerateKeyframes(req("procedural"), timeout=60)]
            kfs = events[-1].result.keyframes
            assert [k.backend for k in kfs] == ["procedural"] * 2 and fake.prompts == []
            events = [ev async for ev in stub.GenerateKeyframes(req(""), timeout=60)]
            assert [k.backend for k in events[-1].result.keyframes] == ["comfyui"] * 2
            assert len(fake.prompts) == 2
            with pytest.raises(grpc.aio.AioRpcError) as err:
                [ev async for ev in stub.GenerateKeyframes(req("openai"), timeout=60)]
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "'openai' is not offered" in (err.value.details() or "")
