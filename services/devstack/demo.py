"""`make demo`: synthesize a song, start the stack, render it through the REST API, check it.

Prints progress as it goes, the wall time per stage, and the path of the finished MP4.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from services.cli.api import LumiereAPI
from services.cli.display import LineDisplay
from services.cli.follow import Pipeline, follow
from services.common.settings import get_settings
from services.devstack.processes import LocalStack
from services.devstack.synth import SR, demo_spec, synth_song, write_audio
from services.devstack.video_check import inspect_video


def run_project(
    base_url: str,
    audio: Path,
    prompt: str,
    form: dict[str, str] | None = None,
    timeout_s: float = 900.0,
    echo: bool = True,
    character_images: list[tuple[str, bytes]] | None = None,
) -> tuple[dict, dict[str, float]]:
    """Create + process a project over REST and follow it to the end (the `lumiere` command's
    client and follower); returns it and the seconds per stage.

    `character_images`: (file name, PNG/JPEG bytes) pairs uploaded with the song."""
    with LumiereAPI(base_url) as api:
        pid = api.create(audio, prompt, form, character_images)["id"]
        api.process(pid)
        pipe = Pipeline.of(api.pipeline())
        display = LineDisplay(sys.stdout, pipe, api.timeline(pid)["shot_states"])
        return follow(api, pid, display.update if echo else None, pipe, timeout_s)


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
