"""`make demo`: synthesize a song, start the stack, render it through the REST API, check it.

Prints progress as it goes, the wall time per stage, and the path of the finished MP4.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path
from typing import IO

import httpx

from services.common import stages
from services.common.settings import get_settings
from services.devstack.processes import LocalStack
from services.devstack.synth import SR, demo_spec, synth_song, write_audio
from services.devstack.video_check import inspect_video

# The state reached -> the stage that just ended, as a person reads it.
STAGE_OF_STATE = {
    stages.state_name(state): f"{spec.name} ({spec.label.lower()})"
    for state, spec in stages.STAGE_ENDED_BY.items()
}
TERMINAL = {stages.state_name(s) for s in stages.TERMINAL_STATES}


def run_project(
    base_url: str,
    audio: Path,
    prompt: str,
    form: dict[str, str] | None = None,
    timeout_s: float = 900.0,
    echo: bool = True,
    character_images: list[tuple[str, bytes]] | None = None,
) -> tuple[dict, dict[str, float]]:
    """Create + process a project over REST and poll it to the end; returns it and stage times.

    `character_images`: (file name, PNG/JPEG bytes) pairs uploaded with the song."""
    with httpx.Client(base_url=base_url, timeout=60.0) as client:
        with audio.open("rb") as fh:
            files: list[tuple[str, tuple[str, IO[bytes] | bytes, str]]] = [
                ("audio", (audio.name, fh, "audio/mpeg"))
            ]
            files += [("character_images", (n, b, "image/png")) for n, b in character_images or []]
            resp = client.post(
                "/api/v1/projects", data={"prompt": prompt, **(form or {})}, files=files
            )
        resp.raise_for_status()
        project = resp.json()
        pid = project["id"]
        client.post(f"/api/v1/projects/{pid}/process").raise_for_status()
        started = last_change = time.monotonic()
        state = project.get("status", "created")
        stage_times: dict[str, float] = {}
        last_line = ""
        deadline = started + timeout_s
        while time.monotonic() < deadline:
            project = client.get(f"/api/v1/projects/{pid}").json()
            new_state = project["status"]
            now = time.monotonic()
            if new_state != state:
                if new_state in STAGE_OF_STATE:
                    stage_times[STAGE_OF_STATE[new_state]] = now - last_change
                    last_change = now
                elif new_state == "processing":
                    last_change = now
                state = new_state
                if echo:
                    print(f"[{now - started:6.1f}s] state: {state}", flush=True)
            progress = project.get("progress") or {}
            line = (
                f"{progress.get('stage', '')}: {100 * float(progress.get('fraction') or 0):5.1f}% "
                f"{progress.get('message', '')}"
            )
            if echo and line != last_line and progress:
                print(f"[{now - started:6.1f}s]   {line}", flush=True)
                last_line = line
            if state in TERMINAL:
                break
            time.sleep(0.25)
        stage_times["total"] = time.monotonic() - started
        return project, stage_times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prompt", default="neon city at night, rain, a lone dancer")
    parser.add_argument("--animators", type=int, default=2, help="animator replicas")
    parser.add_argument("--size", default="1280x720", help="WxH of the video")
    parser.add_argument("--fps", default="30")
    parser.add_argument("--quality", default="final", choices=["preview", "draft", "final"])
    parser.add_argument("--copy-to", type=Path, help="also copy the finished MP4 here")
    parser.add_argument(
        "--audio", type=Path, help="render this song instead of the synthesized demo song"
    )
    args = parser.parse_args()

    wall = time.monotonic()
    settings = get_settings()
    data_dir = settings.data_dir.resolve()
    if args.audio:
        song_path = args.audio.resolve()
        print(f"song: {song_path}")
    else:
        song_path = data_dir / "demo" / "demo_song.mp3"
        samples, truth = synth_song(demo_spec())
        write_audio(song_path, samples, SR)
        print(f"demo song: {song_path} ({truth.duration:.1f} s, {truth.bpm:.0f} BPM)")

    with LocalStack(data_dir, animators=args.animators) as stack:
        print(f"stack up in {time.monotonic() - wall:.1f} s; REST API at {stack.gateway_url}")
        form = {"size": args.size, "fps": args.fps, "quality": args.quality}
        project, times = run_project(stack.gateway_url, song_path, args.prompt, form)
    if project["status"] != "completed":
        raise SystemExit(f"demo failed: {project.get('failed_stage')}: {project.get('error')}")

    video = data_dir / "store" / "outputs" / project["id"] / "final_video.mp4"
    facts = inspect_video(video)
    print()
    print(f"storyboard: {project.get('shot_count', 0)} shots; project {project['id']}")
    print("time per stage:")
    for stage, secs in times.items():
        print(f"  {stage:28s} {secs:6.1f} s")
    print(f"  {'demo wall time':28s} {time.monotonic() - wall:6.1f} s")
    print()
    print(
        f"video: {facts.video_codec} {facts.pix_fmt} {facts.width}x{facts.height} "
        f"@ {facts.fps:g} fps, {facts.frame_count} frames ({facts.video_duration:.3f} s); "
        f"audio: {facts.audio_codec} {facts.audio_duration:.3f} s"
    )
    if args.copy_to:
        args.copy_to.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(video, args.copy_to)
        print(f"copied to {args.copy_to}")
    print(f"finished MP4: {video}")


if __name__ == "__main__":
    main()
