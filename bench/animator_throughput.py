"""Render + encode throughput vs encode-only throughput of the same frames (same run).

1280x720, 30 fps, the final preset's encoder settings (libx264 veryfast, CRF 20, one x264 thread:
the production configuration). The same 10-s stretch (camera motion, flow warp, particles, beat
accents and a crossfade) is first rendered to a raw yuv420p file; then, alternately, that file is
streamed into the encoder (baseline) and the renderer feeds the encoder live (the animator's
path). Ratio = live fps / encode-only fps; target >= 0.8.

Run: .venv/bin/python -m bench.animator_throughput [--frames 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import av
import numpy as np
from lumiere.v1 import common_pb2

from services.animator.encode import SegmentEncoder, encode_frames
from services.animator.fixtures import concept_from_truth, plan_requests, store_keyframes
from services.animator.planes import to_i420
from services.animator.render import SegmentRenderer
from services.animator.segment import build_plan
from services.common.storage import LocalStore
from services.devstack.synth import demo_spec, synth_song

RESULTS = Path(__file__).parent / "results" / "animator_throughput.md"
W, H, FPS = 1280, 720, 30


def _plan(store: LocalStore, frames: int):  # type: ignore[no-untyped-def]
    _, truth = synth_song(demo_spec())
    concept = concept_from_truth(truth, moments=2)
    # Two keyframes so the stretch ends in a transition: from 0 into a keyframe at `frames`.
    concept.key_moments[1].time = frames / FPS
    kfs = store_keyframes(store, "bench", [0.0, frames / FPS], W, H)
    video = common_pb2.VideoSettings(width=W, height=H, fps=FPS, quality=common_pb2.QUALITY_FINAL)
    reqs, _ = plan_requests("bench", concept, kfs, video, FPS)
    return build_plan(reqs[0], store)


def _encode_only(raw: Path, out: Path, profile, n: int) -> float:  # type: ignore[no-untyped-def]
    size = W * H * 3 // 2
    enc = SegmentEncoder(out, profile)
    t0 = time.perf_counter()
    with raw.open("rb") as fh:
        for _ in range(n):
            buf = np.frombuffer(fh.read(size), dtype=np.uint8).reshape(H * 3 // 2, W)
            frame = av.VideoFrame.from_ndarray(buf, format="yuv420p")
            enc.encode(frame)
    enc.close()
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    n = args.frames
    with tempfile.TemporaryDirectory(prefix="lumiere-bench-") as tmp_s:
        tmp = Path(tmp_s)
        store = LocalStore(tmp / "store")
        plan, profile = _plan(store, n)
        plan.end = n
        raw = tmp / "frames.yuv"
        t0 = time.perf_counter()
        with raw.open("wb") as fh:
            for planes in SegmentRenderer(plan).frames():
                fh.write(to_i420(planes).tobytes())
        render_fps = n / (time.perf_counter() - t0)
        enc_fps, live_fps, ratios = [], [], []
        for _ in range(args.rounds):
            e = _encode_only(raw, tmp / "enc.mp4", profile, n)
            t0 = time.perf_counter()
            count = encode_frames(SegmentRenderer(plan).frames(), tmp / "live.mp4", profile, n)
            live = count / (time.perf_counter() - t0)
            enc_fps.append(e)
            live_fps.append(live)
            ratios.append(live / e)
            print(
                f"round: encode-only {e:6.1f} fps  render+encode {live:6.1f} fps  "
                f"ratio {live / e:.2f}"
            )
    med = statistics.median(ratios)
    rows = [
        ("render only (YUV planes), 1 thread", f"{render_fps:.1f} fps"),
        ("encode only (x264 veryfast crf20, 1 thread)", f"{statistics.median(enc_fps):.1f} fps"),
        ("render + encode (animator path)", f"{statistics.median(live_fps):.1f} fps"),
        (
            "ratio (median of rounds)",
            f"{med:.2f}  (target >= 0.8: {'PASS' if med >= 0.8 else 'FAIL'})",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    table = "\n".join(f"| {a.ljust(width)} | {b} |" for a, b in rows)
    print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        "# Animator throughput: render + encode vs encode only\n\n"
        f"{W}x{H} @ {FPS} fps, final preset, {n} frames, {args.rounds} rounds, same run.\n"
        "Medians of the rounds.\n\n"
        f"| measure | value |\n|---|---|\n{table}\n\n"
        f"Per-round ratios: {', '.join(f'{r:.2f}' for r in ratios)}\n"
    )


if __name__ == "__main__":
    main()
