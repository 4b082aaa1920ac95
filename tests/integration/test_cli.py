"""The `lumiere` command, run for real (a subprocess of the installed console script) against a
real stack: the five services as processes on loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf

from services.common import stages
from services.devstack.processes import LocalStack, free_port
from services.devstack.video_check import inspect_video
from tests.support.songs import write_short_song

pytestmark = pytest.mark.integration

LUMIERE = Path(sys.executable).parent / "lumiere"
SMALL = ["--size", "320x180", "--fps", "12"]


def lumiere(
    *args: str, env: dict[str, str] | None = None, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("LUMIERE_")}
    return subprocess.run(
        [str(LUMIERE), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        # Wide, so that Rich does not wrap the messages the tests look for.
        env={**base, "COLUMNS": "250", **(env or {})},
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with LocalStack(tmp_path_factory.mktemp("stack"), animators=2) as running:
        yield running


@pytest.fixture(scope="module")
def song(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("song") / "song.mp3"
    write_short_song(path, seed=5)
    return path


def test_render_shows_progress_and_writes_the_video(
    stack: LocalStack, song: Path, tmp_path: Path
) -> None:
    out = tmp_path / "video.mp4"
    run = lumiere(
        "--url",
        stack.gateway_url,
        "render",
        str(song),
        "-p",
        "a lighthouse",
        *SMALL,
        "-o",
        str(out),
    )
    assert run.returncode == 0, run.stdout + run.stderr
    text = run.stdout
    # Not a terminal: one plain line per update, every state of the run in order.
    seen = [
        line.split("state: ")[1].split()[0] for line in text.splitlines() if "] state: " in line
    ]
    expected = [stages.state_name(s) for s in stages.RUN_STATES[1:]]
    assert seen == expected, text
    assert "| shots: " in text  # per-shot states while it runs
    for spec in stages.PIPELINE:
        assert f"{spec.name} ({spec.label.lower()})" in text  # time per stage
    assert "storyboard: " in text and " shots over " in text
    assert f"video: {out.resolve()}" in text
    facts = inspect_video(out)
    assert (facts.width, facts.height, facts.fps) == (320, 180, 12)
    assert facts.audio_streams == 1

    # The project is there for the other commands.
    listed = json.loads(lumiere("--url", stack.gateway_url, "--json", "ls").stdout)
    pid = next(p["id"] for p in listed if p["prompt"] == "a lighthouse")
    shown = lumiere("--url", stack.gateway_url, "show", pid)
    assert shown.returncode == 0 and "completed" in shown.stdout and "storyboard:" in shown.stdout
    assert f"timeline: {stack.gateway_url}/projects/{pid}" in shown.stdout
    again = tmp_path / "again.mp4"
    got = lumiere("--url", stack.gateway_url, "download", pid, "-o", str(again))
    assert got.returncode == 0 and again.read_bytes() == out.read_bytes()

    # Regenerate shot 2 with a new prompt: it is re-drawn with it and the video re-composed.
    regen = tmp_path / "regen.mp4"
    prompt = "a red balloon over the sea"
    run = lumiere(
        "--url", stack.gateway_url, "regenerate", pid, "2", "--prompt", prompt, "-o", str(regen)
    )
    assert run.returncode == 0, run.stdout + run.stderr
    timeline = httpx.get(f"{stack.gateway_url}/api/v1/projects/{pid}/timeline").json()
    project = httpx.get(f"{stack.gateway_url}/api/v1/projects/{pid}").json()
    shot_id = timeline["shots"][1]["id"]
    assert [k["prompt"] for k in project["keyframes"] if k["shot_id"] == shot_id] == [prompt]
    assert {s["state"] for s in timeline["shots"]} == {timeline["shot_states"][2]}
    assert inspect_video(regen).frame_count == facts.frame_count


def test_preview_renders_the_animatic(stack: LocalStack, song: Path, tmp_path: Path) -> None:
    out = tmp_path / "preview.mp4"
    run = lumiere("--url", stack.gateway_url, "preview", str(song), "-p", "x", "-o", str(out))
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"preview: {out.resolve()}" in run.stdout
    facts = inspect_video(out)
    assert facts.video_streams == 1 and facts.frame_count > 0


def test_bad_input_exits_2_and_says_what_was_wrong(
    stack: LocalStack, song: Path, tmp_path: Path
) -> None:
    missing = lumiere("--url", stack.gateway_url, "render", str(tmp_path / "nope.mp3"), "-p", "x")
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    junk = tmp_path / "junk.mp3"
    junk.write_text("not a song")
    run = lumiere("--url", stack.gateway_url, "render", str(junk), "-p", "x")
    assert run.returncode == 2 and "could not be decoded" in run.stdout
    run = lumiere("--url", stack.gateway_url, "render", str(song), "-p", "x", "--size", "12x9")
    assert run.returncode == 2 and "width must be between" in run.stdout
    run = lumiere("--url", stack.gateway_url, "show", "0" * 32)
    assert run.returncode == 2 and "not found" in run.stdout


def test_a_failed_render_exits_1_with_the_reason(stack: LocalStack, tmp_path: Path) -> None:
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(3 * 22050, dtype=np.float32), 22050)
    run = lumiere("--url", stack.gateway_url, "render", str(silent), "-p", "x", *SMALL)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "is failed: concept failed" in run.stdout and "silent" in run.stdout


def test_ctrl_c_cancels_the_project(stack: LocalStack, tmp_path: Path) -> None:
    song = tmp_path / "long.mp3"
    write_short_song(song, seed=9)
    # A big frame keeps the animator busy long enough to be interrupted mid-run.
    proc = subprocess.Popen(
        [
            str(LUMIERE),
            "--url",
            stack.gateway_url,
            "--json",
            "render",
            str(song),
            "-p",
            "x",
            "--size",
            "1920x1080",
            "--fps",
            "30",
            "-o",
            str(tmp_path / "never.mp4"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if "] state: " in line:
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    project = json.loads(out)["project"]
    assert project["status"] == "cancelled", project
    assert "cancelling project" in err
    assert not (tmp_path / "never.mp4").exists()


def test_render_starts_a_local_stack_and_stops_it(song: Path, tmp_path: Path) -> None:
    env = {"LUMIERE_DATA_DIR": str(tmp_path / "data"), "LUMIERE_GATEWAY_PORT": str(free_port())}
    out = tmp_path / "video.mp4"
    run = lumiere("render", str(song), "-p", "x", *SMALL, "-o", str(out), env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "starting a local stack" in run.stdout and out.is_file()
    url = run.stdout.split("REST API at ")[1].split()[0]
    time.sleep(0.5)
    with pytest.raises(httpx.HTTPError):
        httpx.get(url + "/livez", timeout=2)
