"""Render + encode throughput vs encode-only throughput of the same frames (same run).

1280x720, 30 fps, the final preset's encoder settings (libx264 veryfast, CRF 20, one x264
thread: the production configuration; OpenCV single-threaded as in the service; --x264-preset
gives the figure against another x264 preset). A 10-s stretch (camera
motion, flow warp, particles, beat accents, ending in a crossfade) is first rendered to a raw
yuv420p file; then, alternately, that file is streamed into the encoder (baseline) and the
renderer feeds the encoder live (the animator's path).

Reported:
- one segment: live fps / encode-only fps (render and encode overlap on the two cores);
- two segments at once (the service's two workers, both cores busy): 2 live pipelines vs
  2 encode-only pipelines in parallel;
- CPU per frame (thread CPU time, robust to other load on the machine) and the implied ratio when
  both cores are saturated: encode / (render + encode).
Target: ratio >= 0.8.

Run: .venv/bin/python -m bench.animator_throughput [--frames 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import threading
import time
from pathlib import Path

import av
import numpy as np
from lumiere.v1 import common_pb2

from services.animator.encode import EncodeStats, SegmentEncoder, encode_frames, frame_planes
from services.animator.planes import to_i420
from services.animator.render import SegmentPlan, SegmentRenderer
from services.animator.runtime import tune_process
from services.animator.segment import build_plan
from services.common.storage import LocalStore
from services.devstack.synth import demo_spec, synth_song
from tests.support.animator_inputs import concept_from_truth, plan_requests, store_keyframes

RESULTS = Path(__file__).parent / "results" / "animator_throughput.md"
W, H, FPS = 1280, 720, 30


def _plan(store: LocalStore, frames: int, layers: bool):  # type: ignore[no-untyped-def]
    _, truth = synth_song(demo_spec())
    concept = concept_from_truth(truth, moments=2)
    # Two keyframes so the stretch ends in a transition: from 0 into a keyframe at `frames`.
    concept.key_moments[1].time = frames / FPS
    kfs = store_keyframes(store, "bench", [0.0, frames / FPS], W, H, layers=layers)
    video = common_pb2.VideoSettings(width=W, height=H, fps=FPS, quality=common_pb2.QUALITY_FINAL)
    reqs, _ = plan_requests("bench", concept, kfs, video, FPS)
    plan, profile = build_plan(reqs[0], store)
    plan.end = frames
    return plan, profile


def _encode_only(raw: Path, out: Path, profile, n: int) -> EncodeStats:  # type: ignore[no-untyped-def]
    size = W * H * 3 // 2
    enc = SegmentEncoder(out, profile)
    t0, c0 = time.perf_counter(), time.thread_time()
    with raw.open("rb") as fh:
        for _ in range(n):
            buf = np.frombuffer(fh.read(size), dtype=np.uint8).reshape(H * 3 // 2, W)
            enc.encode(av.VideoFrame.from_ndarray(buf, format="yuv420p"))
    enc.close()
    return EncodeStats(
        count=n, wall_s=time.perf_counter() - t0, encode_cpu_s=time.thread_time() - c0
    )


def _live(plan: SegmentPlan, out: Path, profile, n: int) -> EncodeStats:  # type: ignore[no-untyped-def]
    # As the service does: frames are rendered straight into the encoder's VideoFrames.
    return encode_frames(SegmentRenderer(plan, frame_planes).frames(), out, profile, n)


def _parallel(fn, args_list) -> float:  # type: ignore[no-untyped-def]
    """Run fn(*args) for each args in parallel threads; total frames / wall seconds."""
    results: list[EncodeStats] = []
    threads = [threading.Thread(target=lambda a=a: results.append(fn(*a))) for a in args_list]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(r.count for r in results) / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--layers", action="store_true", help="keyframes with parallax layers")
    ap.add_argument("--x264-preset", default="", help="override the final preset's x264 preset")
    args = ap.parse_args()
    tune_process()
    n = args.frames
    one, two, cpu_r, cpu_e, enc1, live1 = [], [], [], [], [], []
    with tempfile.TemporaryDirectory(prefix="lumiere-bench-") as tmp_s:
        tmp = Path(tmp_s)
        store = LocalStore(tmp / "store")
        plan, profile = _plan(store, n, args.layers)
        if args.x264_preset:
            profile = dataclasses.replace(profile, x264_preset=args.x264_preset)
        raw = tmp / "frames.yuv"
        alone_cpu = 0.0
        with raw.open("wb") as fh:
            for planes in SegmentRenderer(plan).frames():
                c0 = time.thread_time()
                buf = to_i420(planes)
                alone_cpu += time.thread_time() - c0
                fh.write(buf.tobytes())
        # Render CPU with nothing else running in this process (the frames above, timed apart
        # from the file writes): compare with the render thread's CPU next to a busy encoder.
        c0 = time.thread_time()
        for _ in SegmentRenderer(plan).frames():
            pass
        alone_ms = 1000 * (time.thread_time() - c0) / n
        for r in range(args.rounds):
            e = _encode_only(raw, tmp / "enc.mp4", profile, n)
            live = _live(plan, tmp / "live.mp4", profile, n)
            enc1.append(e.fps)
            live1.append(live.fps)
            one.append(live.fps / e.fps)
            cpu_e.append(1000 * e.encode_cpu_s / n)
            cpu_r.append(1000 * live.render_cpu_s / n)
            e2 = _parallel(_encode_only, [(raw, tmp / f"e{i}.mp4", profile, n) for i in range(2)])
            l2 = _parallel(_live, [(plan, tmp / f"l{i}.mp4", profile, n) for i in range(2)])
            two.append(l2 / e2)
            print(
                f"round {r}: 1 segment {live.fps:5.1f}/{e.fps:5.1f} fps = {one[-1]:.2f}; "
                f"2 segments {l2:5.1f}/{e2:5.1f} fps = {two[-1]:.2f}; CPU ms/frame render "
                f"{cpu_r[-1]:.2f} encode {cpu_e[-1]:.2f}"
            )
    med = statistics.median
    cpu_ratio = med(cpu_e) / (med(cpu_e) + med(cpu_r))

    def verdict(x: float) -> str:
        return f"{x:.2f} ({'PASS' if x >= 0.8 else 'FAIL'})"

    rows = [
        (f"encode only, 1 segment (fps, x264 {profile.x264_preset})", f"{med(enc1):.1f}"),
        ("render + encode, 1 segment (fps)", f"{med(live1):.1f}"),
        ("ratio, 1 segment (render || encode on 2 cores)", verdict(med(one))),
        ("ratio, 2 segments at once (both cores busy)", verdict(med(two))),
        ("CPU ms/frame: render alone (YUV planes, flow, particles)", f"{alone_ms:.2f}"),
        ("CPU ms/frame: render thread next to the encoder", f"{med(cpu_r):.2f}"),
        (f"CPU ms/frame: encode (x264 {profile.x264_preset}, 1 thread)", f"{med(cpu_e):.2f}"),
        ("ratio implied by CPU time, cores saturated", verdict(cpu_ratio)),
        ("  same, with the render-alone CPU time", verdict(med(cpu_e) / (med(cpu_e) + alone_ms))),
    ]
    width = max(len(r[0]) for r in rows)
    table = "\n".join(f"| {a.ljust(width)} | {b} |" for a, b in rows)
    print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    out = (
        RESULTS.with_name(f"animator_throughput_{args.x264_preset}.md")
        if args.x264_preset
        else RESULTS
    )
    out.write_text(
        "# Animator throughput: render + encode vs encode only (target ratio >= 0.8)\n\n"
        f"{W}x{H} @ {FPS} fps, final preset (x264 {profile.x264_preset} CRF {profile.crf}, "
        f"1 thread), {n} frames, "
        f"layers={args.layers}, medians of {args.rounds} alternating rounds in one run.\n"
        "The machine is shared (2 cores, other jobs running), so wall-clock ratios are noisy;\n"
        "the CPU-time ratio is the load-independent figure.\n\n"
        f"| measure | value |\n|---|---|\n{table}\n\n"
        f"Per-round ratios, 1 segment: {', '.join(f'{x:.2f}' for x in one)}; "
        f"2 segments: {', '.join(f'{x:.2f}' for x in two)}\n"
    )


if __name__ == "__main__":
    main()
