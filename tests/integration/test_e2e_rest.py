"""End to end: the five services as separate processes, a real song through the REST API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import httpx
import numpy as np
import pytest

from services.devstack.demo import run_project
from services.devstack.processes import LocalStack
from services.devstack.synth import SR, SectionSpec, SongSpec, synth_song, write_audio
from services.devstack.video_check import inspect_video

pytestmark = pytest.mark.integration

SHORT_SONG = SongSpec(
    name="e2e",
    bpm=120.0,
    sections=(
        SectionSpec("intro", 2, level=0.25, drums=False),
        SectionSpec("verse", 3, level=0.5),
        SectionSpec("chorus", 3, level=1.0),
    ),
    seed=3,
)
FPS = 15


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    data_dir = tmp_path_factory.mktemp("stack")
    with LocalStack(data_dir, animators=2) as running:
        yield running


@pytest.fixture(scope="module")
def song(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    samples, _truth = synth_song(SHORT_SONG)
    path = write_audio(tmp_path_factory.mktemp("song") / "song.mp3", samples, SR)
    with av.open(str(path)) as c:
        a = c.streams.audio[0]
        n = sum(f.samples for f in c.decode(a))
        duration = n / a.codec_context.sample_rate
    return path, duration


def test_song_becomes_a_music_video(stack: LocalStack, song: tuple[Path, float], tmp_path: Path):
    path, duration = song
    project, _times = run_project(
        stack.gateway_url,
        path,
        "ocean sunset, waves, a lone surfer",
        form={"width": "320", "height": "180", "fps": str(FPS)},
        timeout_s=300,
        echo=False,
    )
    assert project["status"] == "completed", project
    pid = project["id"]

    with httpx.Client(base_url=stack.gateway_url, timeout=60) as client:
        resp = client.get(f"/api/v1/projects/{pid}/video")
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("video/mp4")
        video = tmp_path / "final.mp4"
        video.write_bytes(resp.content)

    facts = inspect_video(video)
    assert (facts.video_streams, facts.audio_streams) == (1, 1)
    assert (facts.video_codec, facts.pix_fmt, facts.audio_codec) == ("h264", "yuv420p", "aac")
    assert (facts.width, facts.height) == (320, 180)
    assert facts.frame_count == round(duration * FPS)
    assert abs(facts.audio_duration - duration) <= 1 / FPS
    assert abs(facts.audio_duration - facts.video_duration) <= 1 / FPS

    # Keyframes are visibly different: frames at the key moments differ clearly in colour.
    moments = [m["time"] for m in project["concept"]["key_moments"]]
    assert len(moments) >= 3
    wanted = {min(round(t * FPS) + 2, facts.frame_count - 1) for t in moments}
    means = []
    with av.open(str(video)) as c:
        for i, frame in enumerate(c.decode(c.streams.video[0])):
            if i in wanted:
                means.append(frame.to_ndarray(format="rgb24").reshape(-1, 3).mean(axis=0))
    means_arr = np.array(means)
    spread = max(
        float(np.abs(a - b).max()) for i, a in enumerate(means_arr) for b in means_arr[i + 1 :]
    )
    assert spread > 12.0, f"keyframes look alike: mean colours {means_arr.round(1).tolist()}"


def test_bad_requests_are_rejected_and_the_stack_keeps_serving(
    stack: LocalStack, tmp_path: Path
) -> None:
    with httpx.Client(base_url=stack.gateway_url, timeout=30) as client:
        bogus = tmp_path / "notes.mp3"
        bogus.write_bytes(b"this is not audio at all, just text pretending to be an mp3\n" * 50)
        with bogus.open("rb") as fh:
            resp = client.post(
                "/api/v1/projects",
                data={"prompt": "anything"},
                files={"audio": ("notes.mp3", fh, "audio/mpeg")},
            )
        assert resp.status_code == 400
        assert "could not be decoded as audio" in resp.json()["detail"]

        resp = client.get("/api/v1/projects/0123456789abcdef0123456789abcdef")
        assert resp.status_code == 404
        assert client.get("/health").status_code == 200
        assert client.get("/api/v1/projects").status_code == 200
