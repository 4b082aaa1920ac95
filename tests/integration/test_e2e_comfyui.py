"""End to end with generative backends: the five services as processes, a song through the REST
API, keyframes and shots made by ComfyUI (a loopback server speaking its wire format,
tests/support/comfyui_server.py), conformed to the music: exact frames, A/V within a frame,
accents on the beat measured on the generated shots."""

from __future__ import annotations

from pathlib import Path

import av
import httpx
import pytest

from services.animator.sync_metric import analyze
from services.devstack.demo import run_project
from services.devstack.processes import LocalStack
from services.devstack.synth import SR, SectionSpec, SongSpec, synth_song, write_audio
from services.devstack.video_check import inspect_video
from tests.support.comfyui_server import fake_comfyui

pytestmark = pytest.mark.integration

SONG = SongSpec(
    name="e2e-comfy",
    bpm=120.0,
    sections=(SectionSpec("verse", 3, level=0.6), SectionSpec("chorus", 3, level=1.0)),
    seed=5,
)
FPS = 15


def test_comfyui_keyframes_and_shots_make_a_music_video(tmp_path: Path) -> None:
    samples, truth = synth_song(SONG)
    song = write_audio(tmp_path / "song.wav", samples, SR)
    with av.open(str(song)) as c:
        a = c.streams.audio[0]
        duration = sum(f.samples for f in c.decode(a)) / a.codec_context.sample_rate
    with fake_comfyui() as comfy:
        env = {
            "LUMIERE_SEEDER_BACKEND": "comfyui",
            "LUMIERE_SEEDER_BASE_URL": comfy.url,
            "LUMIERE_SHOT_BACKENDS": "procedural,comfyui",
            "LUMIERE_ANIMATOR_COMFYUI_URL": comfy.url,
            "LUMIERE_ANIMATOR_FALLBACK": "false",  # a failed clip must fail this test
        }
        with LocalStack(tmp_path / "stack", animators=1, extra_env=env) as stack:
            project, _ = run_project(
                stack.gateway_url,
                song,
                "neon city at night, a lone dancer",
                form={"width": "320", "height": "180", "fps": str(FPS), "shot_backend": "comfyui"},
                timeout_s=400,
                echo=False,
            )
            assert project["status"] == "completed", project
            with httpx.Client(base_url=stack.gateway_url, timeout=60) as client:
                resp = client.get(f"/api/v1/projects/{project['id']}/video")
                assert resp.status_code == 200
                video = tmp_path / "final.mp4"
                video.write_bytes(resp.content)
                shown = client.get(f"/api/v1/projects/{project['id']}").json()
        workflows = [p["prompt"] for p in comfy.prompts]

    # ComfyUI drew every keyframe (txt2img) and made every shot (image-to-video).
    segments = shown["segments"]
    kinds = [
        ("video" if any(n["class_type"] == "SaveVideo" for n in w.values()) else "image")
        for w in workflows
    ]
    assert kinds.count("image") == len(shown["keyframes"]) >= 3
    assert kinds.count("video") == len(segments)
    assert shown["options"]["shot_backend"] == "comfyui"
    for seg in segments:
        rec = seg["shot"]
        assert (rec["backend"], rec["status"]) == ("comfyui", "generated"), rec
        assert rec["clips"] >= 1 and "wan-i2v" in rec["detail"]

    facts = inspect_video(video)
    assert (facts.video_codec, facts.pix_fmt, facts.audio_codec) == ("h264", "yuv420p", "aac")
    assert (facts.width, facts.height) == (320, 180)
    assert facts.frame_count == round(duration * FPS)
    assert abs(facts.audio_duration - facts.video_duration) <= 1 / FPS
    report = analyze(video, truth.beats.tolist(), joins=[s["start_frame"] for s in segments[1:]])
    assert report.f_measure >= 0.85, report.summary()
    assert report.frozen_runs == [], report.summary()
    # Black only in the closing fade-out (0.8 s), never inside a generated shot.
    assert report.black_frames <= round(0.8 * FPS), report.summary()
