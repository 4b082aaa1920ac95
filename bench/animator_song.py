"""A whole song through the animator alone: wall time, beat sync and joins of the finished video.

A synthesized song (known beats) is analysed by the concept stage's pure analysis (falling back
to the ground truth when that module is unavailable), keyframes are drawn per key moment, and an
in-process AnimatorService (gRPC on loopback, `animator_workers` = 2) renders every segment
(all requested at once; the service runs two at a time) and composes the final video. Timed:
first RenderSegment call -> ComposeVideo result. Then the finished video is measured with the
sync metric: F-measure of visual accents vs the concept's beats (and vs the true beats), black
frames, frozen runs and the change at segment joins relative to ordinary changes.

Targets: 3-minute song at 720p30 <= 60 s (measured with the final preset's encoder at 720p and
with the draft preset, which is 720p30); preview preset <= 10 s; F >= 0.9.

Run: .venv/bin/python -m bench.animator_song [--minutes 3] [--only final|preview] [--layers]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
import numpy as np
from lumiere.v1 import animator_pb2, animator_pb2_grpc, common_pb2, concept_pb2

from services.animator import transitions as tr
from services.animator.server import add_to_server
from services.animator.sync_metric import analyze, match_events
from services.common.settings import Settings
from services.common.storage import LocalStore
from services.devstack.synth import SR, SectionSpec, SongSpec, synth_song, write_audio
from tests.support.animator_inputs import (
    compose_request,
    concept_from_truth,
    plan_requests,
    store_keyframes,
)
from tests.support.servers import running_service

RESULTS_DIR = Path(__file__).parent / "results"


def song_spec(minutes: float, bpm: float = 120.0) -> SongSpec:
    """Intro, verse/chorus pairs with a bridge, outro: ~`minutes` long at `bpm` (4/4)."""
    bars_total = int(round(minutes * 60 * bpm / 60 / 4))
    pattern = [
        SectionSpec("intro", 8, 0.3, drums=False),
        SectionSpec("verse", 16, 0.55),
        SectionSpec("chorus", 16, 0.95),
        SectionSpec("verse", 16, 0.55),
        SectionSpec("chorus", 16, 0.95),
        SectionSpec("bridge", 8, 0.45),
        SectionSpec("chorus", 16, 1.0),
    ]
    sections: list[SectionSpec] = []
    bars = 0
    i = 0
    while bars < bars_total - 4:
        sec = pattern[i % len(pattern)] if i < len(pattern) else pattern[1 + (i % 4)]
        take = min(sec.bars, bars_total - 4 - bars)
        sections.append(SectionSpec(sec.role, take, sec.level, drums=sec.drums))
        bars += take
        i += 1
    sections.append(SectionSpec("outro", 4, 0.3, drums=False))
    return SongSpec(f"bench_{minutes:g}min", bpm, tuple(sections), seed=11)


def make_concept(samples: np.ndarray, truth) -> tuple[concept_pb2.Concept, str]:  # type: ignore[no-untyped-def]
    try:
        from services.concept.analysis import analyse

        concept = analyse(samples, SR, prompt="neon city", key_moment_count=0)
        if len(concept.beats) and len(concept.key_moments):
            return concept, "concept analysis"
    except Exception as exc:  # noqa: BLE001 - bench fallback
        print(f"concept analysis unavailable ({exc}); using the ground truth")
    moments = max(2, int(truth.duration // 15))
    return concept_from_truth(truth, moments=moments), "ground truth"


def seeder_keyframes(store: LocalStore, concept: concept_pb2.Concept, w: int, h: int) -> list:  # type: ignore[type-arg]
    """The seeder's procedural keyframes (with parallax layers), as the real pipeline gets them."""
    from lumiere.v1 import seeder_pb2

    from services.seeder.backends import make_backend
    from services.seeder.config import SeederSettings
    from services.seeder.keyframes import generate_keyframes

    cfg = SeederSettings()
    if not concept.prompt:
        concept.prompt = "a lighthouse in a storm, neon"
    req = seeder_pb2.GenerateKeyframesRequest(
        project_id="bench", concept=concept, seed=7, width=w, height=h
    )
    res = generate_keyframes(req, store, cfg, make_backend(cfg), lambda d, t, m: None)
    return list(res.keyframes)


@dataclass
class RunResult:
    name: str
    width: int
    height: int
    fps: int
    frames: int
    segments: int
    wall_s: float
    compose_s: float
    cpu_s: float
    f_concept: float
    f_truth: float
    black: int
    frozen: int
    max_join_plain: float
    median_join_plain: float
    cut_joins: int


async def run_once(
    name: str,
    video: common_pb2.VideoSettings,
    fps: int,
    concept: concept_pb2.Concept,
    truth,  # type: ignore[no-untyped-def]
    audio_path: Path,
    workdir: Path,
    layers: bool,
    keyframes: str = "fixtures",
) -> RunResult:
    settings = Settings(data_dir=workdir / name, animator_workers=2)
    store = LocalStore(workdir / name / "store")
    audio = store.put_file("uploads/bench/audio.wav", audio_path, "audio/wav")
    w = video.width or {common_pb2.QUALITY_PREVIEW: 480, common_pb2.QUALITY_DRAFT: 1280}.get(
        video.quality, 1920
    )
    h = video.height or w * 9 // 16
    if keyframes == "seeder":
        kfs = seeder_keyframes(store, concept, w, h)
    else:
        kfs = store_keyframes(
            store, "bench", [m.time for m in concept.key_moments], w, h, layers=layers
        )
    reqs, total = plan_requests("bench", concept, kfs, video, fps)
    async with (
        running_service(add_to_server, settings, store) as addr,
        grpc.aio.insecure_channel(addr) as ch,
    ):
        stub = animator_pb2_grpc.AnimatorServiceStub(ch)

        async def render(req: animator_pb2.RenderSegmentRequest) -> animator_pb2.Segment:
            last = None
            async for ev in stub.RenderSegment(req, timeout=1200):
                last = ev
            assert last is not None and last.HasField("result")
            return last.result.segment

        t0 = time.perf_counter()
        c0 = time.process_time()
        segments = await asyncio.gather(*(render(r) for r in reqs))
        t1 = time.perf_counter()
        result = None
        compose = compose_request("bench", segments, audio, video, total)
        async for ev in stub.ComposeVideo(compose, timeout=1200):
            result = ev
        t2 = time.perf_counter()
        cpu = time.process_time() - c0
    assert result is not None and result.HasField("result")
    res = result.result
    assert res.frame_count == total
    joins = [s.start_frame for s in segments[1:]]
    report = analyze(store.path(res.video.key), [b.time for b in concept.beats], joins=joins)
    truth_beats = [b for b in truth.beats if report.beat_times and b >= report.beat_times[0]]
    _, _, f_truth = match_events(report.accent_times, truth_beats)
    # Joins at flash cuts are intended cuts; every other join should be invisible.
    cut_frames = set()
    for req in reqs[:-1]:
        kind = tr.choose_transition(concept, req.to_keyframe.key_moment_id, req.to_keyframe.time)
        if kind == tr.FLASH_CUT:
            cut_frames.add(req.end_frame)
    plain = [r for j, r in report.join_ratios.items() if j not in cut_frames]
    return RunResult(
        name=name,
        width=w,
        height=h,
        fps=fps,
        frames=total,
        segments=len(segments),
        wall_s=t2 - t0,
        compose_s=t2 - t1,
        cpu_s=cpu,
        f_concept=report.f_measure,
        f_truth=f_truth,
        black=report.black_frames,
        frozen=len(report.frozen_runs),
        max_join_plain=max(plain, default=0.0),
        median_join_plain=float(np.median(plain)) if plain else 0.0,
        cut_joins=len(cut_frames),
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=3.0)
    ap.add_argument("--only", choices=["final", "draft", "preview"], default=None)
    ap.add_argument("--layers", action="store_true", help="fixture keyframes with layers")
    ap.add_argument(
        "--keyframes",
        choices=["fixtures", "seeder"],
        default="fixtures",
        help="flat synthetic pictures, or the seeder's procedural keyframes with layers",
    )
    args = ap.parse_args()
    spec = song_spec(args.minutes)
    samples, truth = synth_song(spec)
    concept, source = make_concept(samples, truth)
    runs = [
        (
            "final",
            common_pb2.VideoSettings(
                width=1280, height=720, fps=30, quality=common_pb2.QUALITY_FINAL
            ),
            30,
            60.0,
        ),
        ("draft", common_pb2.VideoSettings(quality=common_pb2.QUALITY_DRAFT), 30, 60.0),
        ("preview", common_pb2.VideoSettings(quality=common_pb2.QUALITY_PREVIEW), 15, 10.0),
    ]
    results: list[tuple[RunResult, float]] = []
    with tempfile.TemporaryDirectory(prefix="lumiere-bench-song-") as tmp_s:
        tmp = Path(tmp_s)
        audio_path = write_audio(tmp / "song.wav", samples)
        for name, video, fps, target in runs:
            if args.only and name != args.only:
                continue
            r = asyncio.run(
                run_once(
                    name, video, fps, concept, truth, audio_path, tmp, args.layers, args.keyframes
                )
            )
            results.append((r, target))
            print(
                f"{name}: {r.width}x{r.height}@{r.fps} {r.frames} frames, {r.segments} segments: "
                f"wall {r.wall_s:.1f} s (compose {r.compose_s:.1f} s), F={r.f_concept:.3f} "
                f"(vs truth {r.f_truth:.3f}), joins max {r.max_join_plain:.2f}"
            )
    header = (
        "| run | size | frames | segments | wall s (target) | compose s | fps | CPU s (CPU/2) "
        "| F (concept beats) "
        "| F (true beats) | black | frozen runs | join ratio median / max (non-cut) | cut joins |"
    )
    lines = [header, "|" + "---|" * 14]
    for r, target in results:
        ok = "PASS" if r.wall_s <= target else "FAIL"
        lines.append(
            f"| {r.name} | {r.width}x{r.height}@{r.fps} | {r.frames} | {r.segments} | "
            f"{r.wall_s:.1f} (<= {target:g}: {ok}) | {r.compose_s:.1f} | "
            f"{r.frames / r.wall_s:.0f} | {r.cpu_s:.1f} ({r.cpu_s / 2:.1f}) | "
            f"{r.f_concept:.3f} ({'PASS' if r.f_concept >= 0.9 else 'FAIL'}) | {r.f_truth:.3f} | "
            f"{r.black} | {r.frozen} | {r.median_join_plain:.2f} / {r.max_join_plain:.2f} | "
            f"{r.cut_joins} |"
        )
    table = "\n".join(lines)
    print(table)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    suffix = "" if args.keyframes == "fixtures" and not args.layers else f"_{args.keyframes}"
    if args.layers and args.keyframes == "fixtures":
        suffix = "_layers"
    (RESULTS_DIR / f"animator_song{suffix}.md").write_text(
        f"# Animator: a {args.minutes:g}-minute synthesized song through the animator alone\n\n"
        f"Concept from: {source}. Keyframes: {args.keyframes} "
        f"(layers={args.layers or args.keyframes == 'seeder'}). "
        "Two workers (animator_workers=2, all segments requested at once), in-process gRPC on "
        "loopback, 2-core machine shared with other jobs. Wall = first RenderSegment "
        "call to ComposeVideo result (incl. the decode check). CPU s = process CPU time over the "
        "same span; CPU/2 is what the wall time would be with both cores to ourselves.\n"
        "Join ratio = change at a join / change expected there (~1 = seamless).\n\n"
        f"{table}\n"
    )


if __name__ == "__main__":
    main()
