"""One shot per segment: render speed of a ~60-shot storyboard vs the old 7 key-moment segments.

The same 3-minute synthesized song (120 bpm, known beats, instrument bands from the truth) at
1280x720, 30 fps, final preset (x264 veryfast CRF 20, 1 thread), rendered two ways, one segment
after another in this process through `render_segment` (keyframe decode, plan, encoder open,
render + encode, store), as a replica does:

- key moments: 7 keyframes with positional layers (background + foreground), 7 segments;
- storyboard: one keyframe per shot (background, mid, foreground, character + 2 poses, named),
  shots of 1-2 bars on downbeats (~60 shots), entries mostly hard cuts with whips, crossfades
  and flash cuts, every camera move.

Reported per way: segments, frames, wall s and fps, process CPU ms per frame (render + encode,
both threads), the per-segment set-up (build_plan: decode + prepare, CPU ms) and the render CPU
ms per frame alone (frames rendered without the encoder). The machine is shared (2 cores), so
CPU times are the comparable figures. Then the finished storyboard video's beat sync (F).

Run: .venv/bin/python -m bench.animator_shots [--minutes 3] [--sample docs-dir]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from lumiere.v1 import animator_pb2, common_pb2, concept_pb2
from lumiere.v1 import storyboard_pb2 as sb

from bench.animator_song import song_spec
from services.animator.compose import compose_video
from services.animator.render import SegmentRenderer
from services.animator.runtime import tune_process
from services.animator.segment import build_plan, render_segment
from services.animator.sync_metric import analyze
from services.common.storage import LocalStore
from services.devstack.synth import synth_song, write_audio
from tests.support.animator_inputs import (
    add_instrument_drivers,
    compose_request,
    concept_from_truth,
    plan_requests,
    store_keyframes,
    store_shot_keyframes,
    storyboard_on_downbeats,
)

RESULTS = Path(__file__).parent / "results" / "animator_shots.md"
W, H, FPS = 1280, 720, 30
VIDEO = common_pb2.VideoSettings(width=W, height=H, fps=FPS, quality=common_pb2.QUALITY_FINAL)
DESIGNS = [
    (sb.CAMERA_MOVE_PUSH_IN, sb.FRAMING_WIDE, sb.SHOT_ENTRY_CUT),
    (sb.CAMERA_MOVE_PAN, sb.FRAMING_MEDIUM, sb.SHOT_ENTRY_CUT),
    (sb.CAMERA_MOVE_TRUCK, sb.FRAMING_SUBJECT, sb.SHOT_ENTRY_WHIP),
    (sb.CAMERA_MOVE_HANDHELD, sb.FRAMING_CLOSE_UP, sb.SHOT_ENTRY_CUT),
    (sb.CAMERA_MOVE_ORBIT, sb.FRAMING_MEDIUM, sb.SHOT_ENTRY_CROSSFADE),
    (sb.CAMERA_MOVE_LOCKED, sb.FRAMING_SUBJECT, sb.SHOT_ENTRY_CUT),
    (sb.CAMERA_MOVE_CRANE, sb.FRAMING_WIDE, sb.SHOT_ENTRY_FLASH_CUT),
    (sb.CAMERA_MOVE_PULL_OUT, sb.FRAMING_DETAIL, sb.SHOT_ENTRY_CUT),
]


@dataclass
class Way:
    name: str
    segments: int
    frames: int
    wall_s: float
    cpu_s: float
    setup_ms: float  # mean build_plan CPU per segment
    render_ms: float  # render CPU per frame, no encoder

    @property
    def row(self) -> str:
        return (
            f"| {self.name} | {self.segments} | {self.frames} | {self.wall_s:.1f} | "
            f"{self.frames / self.wall_s:.1f} | {1000 * self.cpu_s / self.frames:.2f} | "
            f"{self.setup_ms:.0f} | {self.render_ms:.2f} |"
        )


def _noop(done: int, total: int, message: str) -> None:
    pass


def run_way(
    name: str, store: LocalStore, reqs: list[animator_pb2.RenderSegmentRequest]
) -> tuple[Way, list[animator_pb2.Segment]]:
    setup, render_cpu = 0.0, 0.0
    for req in reqs:  # set-up and render alone, without the encoder
        c0 = time.thread_time()
        plan, _ = build_plan(req, store)
        c1 = time.thread_time()
        for _ in SegmentRenderer(plan).frames():
            pass
        render_cpu += time.thread_time() - c1
        setup += c1 - c0
    frames = sum(int(r.end_frame - r.start_frame) for r in reqs)
    t0, c0 = time.perf_counter(), time.process_time()
    segments = [render_segment(r, store, _noop).segment for r in reqs]
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    way = Way(
        name, len(reqs), frames, wall, cpu, 1000 * setup / len(reqs), 1000 * render_cpu / frames
    )
    print(way.row, flush=True)
    return way, segments


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=3.0)
    args = ap.parse_args()
    tune_process()
    samples, truth = synth_song(song_spec(args.minutes))
    concept = concept_from_truth(truth, moments=7)
    add_instrument_drivers(concept, truth)
    with tempfile.TemporaryDirectory(prefix="lumiere-bench-") as tmp_s:
        tmp = Path(tmp_s)
        store = LocalStore(tmp / "store")
        audio = store.put_file("uploads/b/audio.wav", write_audio(tmp / "a.wav", samples), "x")
        times = [m.time for m in concept.key_moments]
        old_kfs = store_keyframes(store, "old", times, W, H, layers=True)
        old_reqs, _ = plan_requests("old", concept, old_kfs, VIDEO, FPS)
        board_concept = concept_pb2.Concept()
        board_concept.CopyFrom(concept)
        board_concept.storyboard.CopyFrom(
            storyboard_on_downbeats(board_concept, DESIGNS, bars_per_shot=[1, 2])
        )
        new_kfs = store_shot_keyframes(store, "new", board_concept.storyboard, W, H, poses=3)
        new_reqs, total = plan_requests("new", board_concept, new_kfs, VIDEO, FPS)
        print(
            "| way | segments | frames | wall s | fps | CPU ms/frame | set-up ms/segment "
            "| render-only CPU ms/frame |"
        )
        old, _ = run_way("7 key-moment segments", store, old_reqs)
        new, segments = run_way(f"{len(new_reqs)} storyboard shots", store, new_reqs)
        res = compose_video(compose_request("new", segments, audio, VIDEO, total), store, _noop)
        with store.local_path(res.video.key) as path:
            report = analyze(
                path, [b.time for b in concept.beats], joins=[s.start_frame for s in segments]
            )
    print(report.summary())
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        "# Animator: one shot per segment vs 7 key-moment segments\n\n"
        f"{args.minutes:g}-minute synthesized song (120 bpm), {W}x{H} @ {FPS} fps, final preset "
        "(x264 veryfast CRF 20, 1 thread), segments rendered one after another in one process "
        "through render_segment (decode, plan, encoder open, render + encode, store). The "
        "machine is shared (2 cores, other jobs running): CPU times are the comparable "
        "figures, wall times are noisy.\n\n"
        "| way | segments | frames | wall s | fps | CPU ms/frame (render + encode) "
        "| set-up CPU ms/segment | render-only CPU ms/frame |\n|---|---|---|---|---|---|---|---|\n"
        f"{old.row}\n{new.row}\n\n"
        f"Storyboard video: {report.summary()}\n"
    )


if __name__ == "__main__":
    main()
