"""Generated shots: the animator's shot backends against loopback servers speaking ComfyUI's
API (tests/support/comfyui_server.py) and OpenAI's videos API (tests/support/videos_server.py),
conformed to exact frames, cached by inputs, made in pieces when long, falling back when asked."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from lumiere.v1 import common_pb2, storyboard_pb2
from PIL import Image

from services.animator.clip_comfyui import DEFAULT_WORKFLOW
from services.animator.config import AnimatorSettings
from services.animator.generated import ShotBackends, decode_clip
from services.animator.segment import render_segment
from services.common.backend_errors import (
    BackendAuthFailed,
    BackendFailed,
    BackendQuotaExceeded,
    ContentRejected,
)
from services.common.backend_http import RetryPolicy
from services.common.errors import InvalidInput
from services.common.progress import WorkCancelled
from services.common.settings import Settings
from services.common.storage import LocalStore
from services.devstack.synth import SectionSpec, SongSpec, synth_song
from tests.support.animator_inputs import concept_from_truth, plan_requests, store_keyframes
from tests.support.comfyui_server import Knobs, fake_comfyui
from tests.support.videos_server import KEY, VideoKnobs, fake_videos

pytestmark = pytest.mark.integration

FPS = 12
VIDEO = common_pb2.VideoSettings(width=192, height=108, fps=FPS, quality=common_pb2.QUALITY_PREVIEW)
FAST = RetryPolicy(retries=3, backoff_s=0.01)


def _noop(done: int, total: int, message: str) -> None:
    pass


@pytest.fixture
def requests_(store: LocalStore):  # type: ignore[no-untyped-def]
    spec = SongSpec("t", bpm=120, sections=(SectionSpec("verse", 3, level=0.6),), seed=3)
    _, truth = synth_song(spec)
    concept = concept_from_truth(truth, moments=3)
    keyframes = store_keyframes(store, "p", [m.time for m in concept.key_moments], 192, 108)
    for i, kf in enumerate(keyframes):
        kf.shot_id, kf.prompt, kf.seed = f"s{i}", f"shot {i} prompt", 40 + i
        concept.storyboard.shots.append(
            storyboard_pb2.Shot(id=f"s{i}", index=i, start_time=kf.time, prompt=kf.prompt)
        )
    reqs, _ = plan_requests("p", concept, keyframes, VIDEO, FPS)
    return reqs


def backends(**cfg: Any) -> ShotBackends:
    settings = Settings(shot_backends="procedural,comfyui,openai")
    return ShotBackends(settings, AnimatorSettings(**cfg))


def comfy_backends(url: str, **cfg: Any) -> ShotBackends:
    b = backends(comfyui_url=url, **cfg)
    b.get("comfyui").comfy.policy = FAST  # type: ignore[union-attr]
    return b


def frames_of(store: LocalStore, key: str) -> list[np.ndarray]:
    with store.local_path(key) as path, av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])]


def test_comfyui_shot_is_generated_conformed_and_cached(store: LocalStore, requests_) -> None:  # type: ignore[no-untyped-def]
    req = requests_[0]
    req.shot_backend = "comfyui"
    n = req.end_frame - req.start_frame
    with fake_comfyui() as fake:
        b = comfy_backends(fake.url)
        first = render_segment(req, store, _noop, backends=b)
        # The same shot again (resume, regenerate with the same inputs): no second job.
        again = render_segment(req, store, _noop, backends=b)
    assert len(fake.prompts) == 1
    wf = fake.prompts[0]["prompt"]
    seconds = n / FPS
    assert wf["50"]["inputs"]["length"] == 4 * int(np.ceil((seconds * 16 - 1) / 4)) + 1
    assert wf["57"]["inputs"]["fps"] == 16.0 and wf["3"]["inputs"]["seed"] == 40
    assert wf["6"]["inputs"]["text"] == "shot 0 prompt"
    # The keyframe went up as the first frame.
    assert list(fake.inputs.values()) == [store.get_bytes(req.from_keyframe.image.key)]
    rec = first.segment.shot
    assert (rec.shot_id, rec.backend, rec.status, rec.clips) == ("s0", "comfyui", "generated", 1)
    assert "wan-i2v" in rec.detail and rec.seconds > 0
    assert (
        again.segment.shot.status == "cached" and again.segment.video.key == first.segment.video.key
    )
    frames = frames_of(store, first.segment.video.key)
    assert len(frames) == n
    # The picture is the clip (the fake inverts the uploaded keyframe), not the still.
    key = store.get_bytes(req.from_keyframe.image.key)
    still = np.asarray(Image.open(io.BytesIO(key)).convert("RGB")).astype(np.int16)
    f0 = frames[0].astype(np.int16)
    assert np.mean(np.abs(f0 - (255 - still))) < np.mean(np.abs(f0 - still))
    changes = [
        np.mean(np.abs(a.astype(np.int16) - b)) for a, b in zip(frames, frames[1:], strict=False)
    ]
    assert min(changes) > 0  # it moves on every frame


def with_template(store: LocalStore, req: Any, template: str) -> tuple[Any, Any]:
    """Render `req` with a shipped template on the fake ComfyUI: (result, the fake)."""
    req.shot_backend = "comfyui"
    path = str(DEFAULT_WORKFLOW.with_name(template))
    with fake_comfyui() as fake:
        backends = comfy_backends(fake.url, comfyui_workflow=path)
        return render_segment(req, store, _noop, backends=backends), fake


def test_first_and_last_frame_workflow_gets_the_next_keyframe(store: LocalStore, requests_) -> None:  # type: ignore[no-untyped-def]
    req = requests_[0]
    result, fake = with_template(store, req, "wan_flf2v.json")
    wf = fake.prompts[0]["prompt"]
    first, last = wf["52"]["inputs"]["image"], wf["53"]["inputs"]["image"]
    assert fake.inputs[first] == store.get_bytes(req.from_keyframe.image.key)
    assert fake.inputs[last] == store.get_bytes(req.to_keyframe.image.key)
    assert result.segment.shot.status == "generated"


def test_ltx_template_binds_one_input_to_two_nodes(store: LocalStore, requests_) -> None:  # type: ignore[no-untyped-def]
    req = requests_[0]
    result, fake = with_template(store, req, "ltxv_i2v.json")
    wf = fake.prompts[0]["prompt"]
    seconds = (req.end_frame - req.start_frame) / FPS
    length = wf["11"]["inputs"]["length"]
    assert (length - 1) % 8 == 0 and length >= seconds * 24 > length - 8  # LTX: 8n + 1 frames
    assert wf["12"]["inputs"]["frame_rate"] == wf["13"]["inputs"]["fps"] == 24.0
    assert (wf["11"]["inputs"]["width"], wf["11"]["inputs"]["height"]) == (192, 96)  # 32s
    assert result.segment.shot.status == "generated" and "ltxv-i2v" in result.segment.shot.detail


def test_long_shot_is_made_in_pieces_with_continuity(
    store: LocalStore, requests_, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    binding = json.loads(DEFAULT_WORKFLOW.read_text())
    binding["workflow"] = str(DEFAULT_WORKFLOW.parent / binding["workflow"])
    binding["limits"]["max_frames"] = 13  # 0.8 s at 16 fps: this shot needs several clips
    (tmp_path / "short.json").write_text(json.dumps(binding))
    req = requests_[0]
    req.shot_backend = "comfyui"
    n = req.end_frame - req.start_frame
    with fake_comfyui() as fake:
        b = comfy_backends(fake.url, comfyui_workflow=str(tmp_path / "short.json"))
        result = render_segment(req, store, _noop, backends=b)
        clips = {k: v for k, v in fake.outputs.items() if k.endswith(".mp4")}
    pieces = int(np.ceil(n / FPS / (13 / 16)))
    assert result.segment.shot.clips == pieces == len(fake.prompts) > 1
    assert all(p["prompt"]["50"]["inputs"]["length"] <= 13 for p in fake.prompts)
    # Piece 2 started from piece 1's last frame.
    uploads = list(fake.inputs.values())
    first_clip = decode_clip(next(iter(clips.values())), "clip 1")[0]
    start2 = np.asarray(Image.open(io.BytesIO(uploads[1])).convert("RGB"))
    assert np.array_equal(start2, first_clip[-1])
    assert len(frames_of(store, result.segment.video.key)) == n


def test_failed_shot_falls_back_or_fails_naming_the_shot(store: LocalStore, requests_) -> None:  # type: ignore[no-untyped-def]
    req = requests_[1]
    req.shot_backend = "comfyui"
    with fake_comfyui(Knobs(fail_node="KSampler")) as fake:
        result = render_segment(req, store, _noop, backends=comfy_backends(fake.url))
        rec = result.segment.shot
        assert rec.status == "fallback" and "shot s1 (comfyui)" in rec.detail
        assert "OutOfMemoryError" in rec.detail
        assert len(frames_of(store, result.segment.video.key)) == req.end_frame - req.start_frame
        failed = "shot s1 .comfyui.: ComfyUI prompt .* node 3 .KSampler"
        with pytest.raises(BackendFailed, match=failed):
            render_segment(req, store, _noop, backends=comfy_backends(fake.url, fallback=False))


def test_cancelled_render_interrupts_the_comfyui_job(store: LocalStore, requests_) -> None:  # type: ignore[no-untyped-def]
    req = requests_[0]
    req.shot_backend = "comfyui"
    seen: list[str] = []

    def report(done: int, total: int, message: str) -> None:
        seen.append(message)
        if "running" in message:  # the caller went away while the GPU works
            raise WorkCancelled("animator work cancelled")

    with fake_comfyui(Knobs(hang=True)) as fake:
        with pytest.raises(WorkCancelled):
            render_segment(req, store, report, backends=comfy_backends(fake.url))
        time.sleep(0.3)
        pid = next(iter(fake.history))
    assert fake.interrupts == [pid]  # targeted at our prompt
    assert fake.history[pid]["status"]["status_str"] == "error"
    assert any("shot s0: comfyui running 1/3" in m for m in seen)


def test_backend_outside_the_allow_list_is_refused(store: LocalStore, requests_) -> None:  # type: ignore[no-untyped-def]
    req = requests_[0]
    req.shot_backend = "openai"
    only = ShotBackends(Settings(shot_backends="procedural,comfyui"), AnimatorSettings())
    refused = "'openai' is not offered by this deployment .allowed: comfyui, procedural"
    with pytest.raises(InvalidInput, match=refused):
        render_segment(req, store, _noop, backends=only)


def openai_backends(url: str, key: str = KEY, **cfg: Any) -> ShotBackends:
    b = backends(videos_url=url, videos_api_key=key, videos_poll_s=0.01, **cfg)
    b.get("openai").policy = FAST  # type: ignore[union-attr]
    return b


def test_openai_videos_wire_format(store: LocalStore, requests_) -> None:  # type: ignore[no-untyped-def]
    req = requests_[0]
    req.shot_backend = "openai"
    n = req.end_frame - req.start_frame
    with fake_videos(VideoKnobs(rate_limited=1)) as fake:
        result = render_segment(req, store, _noop, backends=openai_backends(fake.url))
    assert fake.created == [
        {"model": "sora-2", "prompt": fake.created[0]["prompt"], "seconds": "4", "size": "1280x720"}
    ]
    assert fake.created[0]["prompt"].startswith("shot 0 prompt. Avoid: blurry")
    # The reference is the keyframe at exactly the requested size.
    assert Image.open(io.BytesIO(fake.references[0])).size == (1280, 720)
    assert fake.polls >= 2
    rec = result.segment.shot
    assert (rec.backend, rec.status) == ("openai", "generated") and "video_id=video_" in rec.detail
    assert len(frames_of(store, result.segment.video.key)) == n


@pytest.mark.parametrize(
    ("knobs", "key", "error", "match"),
    [
        (
            VideoKnobs(moderation=True),
            KEY,
            ContentRejected,
            "shot s0 .openai.: .*moderation_blocked",
        ),
        (VideoKnobs(quota=True), KEY, BackendQuotaExceeded, "shot s0 .openai.: .*quota"),
        (VideoKnobs(), "sk-wrong", BackendAuthFailed, "shot s0 .openai.: .*HTTP 401.*API key"),
    ],
)
def test_openai_terminal_errors_name_the_shot(
    store: LocalStore, requests_, knobs: VideoKnobs, key: str, error: type, match: str
) -> None:  # type: ignore[no-untyped-def]
    req = requests_[0]
    req.shot_backend = "openai"
    with fake_videos(knobs) as fake, pytest.raises(error, match=match):
        render_segment(req, store, _noop, backends=openai_backends(fake.url, key, fallback=False))
    assert len(fake.created) <= 1  # terminal: not retried
