"""Peak memory of the animator for a 10-minute song at 1080p (target <= 600 MB per worker).

Each measurement runs in a fresh child process and reports its own peak RSS (VmHWM):
- render: one RenderSegment at 1920x1080, 30 fps, final preset (flow, particles, accents), the
  request carrying the whole 10-minute concept; the process's baseline RSS after imports is
  reported too;
- render x2: two segments rendered at once in one process (the service's two workers);
- compose: ComposeVideo of the whole 10-minute video (18,000 frames of 1080p H.264 in 30
  segments) with the song encoded as AAC, including the decode check. The stand-in segments are
  encoded quickly from synthetic frames with the 1080p preview profile (composition copies
  packets, so their content does not matter).

Run: .venv/bin/python -m bench.animator_memory [--minutes 10]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from lumiere.v1 import animator_pb2, common_pb2

RESULTS = Path(__file__).parent / "results" / "animator_memory.md"
W, H, FPS = 1920, 1080, 30
SEGMENT_SECONDS = 20.0


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def _rss_mb() -> float:
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss across fork+exec, so a child would report
    # the parent's (synthesis-heavy) peak; VmHWM belongs to the child's own address space.
    return _status_mb("VmHWM")


def _current_rss_mb() -> float:
    return _status_mb("VmRSS")


def _noop(done: int, total: int, message: str) -> None:
    pass


def child(mode: str, workdir: Path) -> None:
    from services.animator.compose import compose_video
    from services.animator.runtime import tune_process
    from services.animator.segment import render_segment
    from services.common.storage import LocalStore

    tune_process()
    store = LocalStore(workdir / "store")
    baseline = _current_rss_mb()
    t0 = time.perf_counter()
    if mode in ("render", "render2"):
        names = ["req2_0.bin", "req2_1.bin"] if mode == "render2" else ["req0.bin"]
        reqs = [
            animator_pb2.RenderSegmentRequest.FromString((workdir / n).read_bytes()) for n in names
        ]
        threads = [threading.Thread(target=render_segment, args=(r, store, _noop)) for r in reqs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        frames = sum(r.end_frame - r.start_frame for r in reqs)
    else:
        req = animator_pb2.ComposeVideoRequest.FromString((workdir / "compose.bin").read_bytes())
        res = compose_video(req, store, _noop)
        frames = res.frame_count
    print(
        json.dumps(
            {
                "peak_mb": _rss_mb(),
                "baseline_mb": baseline,
                "frames": frames,
                "seconds": time.perf_counter() - t0,
            }
        )
    )


def _run_child(mode: str, workdir: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "bench.animator_memory", "--child", mode, "--workdir", str(workdir)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _stand_in_segments(store, reqs, total: int) -> list[animator_pb2.Segment]:  # type: ignore[no-untyped-def]
    import av

    from services.animator.encode import SegmentEncoder
    from services.animator.presets import resolve_profile

    profile = resolve_profile(
        common_pb2.VideoSettings(width=W, height=H, fps=FPS, quality=common_pb2.QUALITY_PREVIEW)
    )
    grad = np.tile(np.linspace(16, 235, W, dtype=np.float32), (H * 3 // 2, 1)).astype(np.uint8)
    segments: list[animator_pb2.Segment] = []

    def encode(req: animator_pb2.RenderSegmentRequest) -> None:
        key = f"outputs/mem/animations/standin_{req.segment_index:03d}.mp4"
        path = store.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        enc = SegmentEncoder(path, profile)
        for k in range(req.start_frame, req.end_frame):
            enc.encode(av.VideoFrame.from_ndarray(np.roll(grad, k * 4, axis=1), format="yuv420p"))
        enc.close()
        seg = animator_pb2.Segment(
            index=req.segment_index, start_frame=req.start_frame, end_frame=req.end_frame
        )
        seg.video.key = key
        segments.append(seg)

    pending = list(reqs)
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                if not pending:
                    return
                req = pending.pop(0)
            encode(req)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(segments, key=lambda s: s.start_frame)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--child", default="")
    ap.add_argument("--workdir", default="")
    args = ap.parse_args()
    if args.child:
        child(args.child, Path(args.workdir))
        return

    from bench.animator_song import song_spec
    from services.common.storage import LocalStore
    from services.devstack.synth import synth_song, write_audio
    from tests.support.animator_inputs import concept_from_truth, plan_requests, store_keyframes

    with tempfile.TemporaryDirectory(prefix="lumiere-bench-mem-") as tmp_s:
        tmp = Path(tmp_s)
        store = LocalStore(tmp / "store")
        samples, truth = synth_song(song_spec(args.minutes))
        audio = store.put_file(
            "uploads/mem/audio.mp3", write_audio(tmp / "song.mp3", samples), "audio/mpeg"
        )
        del samples
        concept = concept_from_truth(truth, moments=max(2, int(truth.duration / SEGMENT_SECONDS)))
        kfs = store_keyframes(store, "mem", [m.time for m in concept.key_moments], W, H)
        video = common_pb2.VideoSettings(
            width=W, height=H, fps=FPS, quality=common_pb2.QUALITY_FINAL
        )
        reqs, total = plan_requests("mem", concept, kfs, video, FPS)
        middle = len(reqs) // 2
        for i, r in enumerate(reqs[middle : middle + 2]):
            (tmp / f"req{i}.bin").write_bytes(r.SerializeToString())
            # The 2-worker run renders fresh copies (another seed), not the stored segment.
            r2 = animator_pb2.RenderSegmentRequest()
            r2.CopyFrom(r)
            r2.seed += 1000
            (tmp / f"req2_{i}.bin").write_bytes(r2.SerializeToString())
        print(
            f"{args.minutes:g}-minute song, {total} frames at {W}x{H}@{FPS}, {len(reqs)} segments"
        )
        render = _run_child("render", tmp)
        print(f"render (1 segment): {render}")
        render2 = _run_child("render2", tmp)
        print(f"render (2 segments at once): {render2}")
        t0 = time.perf_counter()
        segments = _stand_in_segments(store, reqs, total)
        print(f"stand-in segments encoded in {time.perf_counter() - t0:.1f} s")
        compose_req = animator_pb2.ComposeVideoRequest(
            project_id="mem", segments=segments, audio=audio, total_frames=total
        )
        (tmp / "compose.bin").write_bytes(compose_req.SerializeToString())
        compose = _run_child("compose", tmp)
        print(f"compose: {compose}")

    def row(name: str, r: dict, workers: int) -> str:
        per = r["peak_mb"] / workers
        ok = "PASS" if per <= 600 else "FAIL"
        return (
            f"| {name} | {r['frames']} | {r['seconds']:.1f} | {r['baseline_mb']:.0f} | "
            f"{r['peak_mb']:.0f} | {per:.0f} ({ok}) |"
        )

    table = "\n".join(
        [
            "| process | frames | seconds | RSS after imports MB | peak RSS MB | per worker MB "
            "(<= 600) |",
            "|---|---|---|---|---|---|",
            row("render 1 segment (final, 1080p30)", render, 1),
            row("render 2 segments at once (2 workers, one process)", render2, 2),
            row(f"compose {args.minutes:g}-min 1080p video + AAC + decode check", compose, 1),
        ]
    )
    print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        f"# Animator peak memory, {args.minutes:g}-minute song at {W}x{H}@{FPS}\n\n"
        f"{total} frames, {len(reqs)} segments of ~{SEGMENT_SECONDS:g} s; each row is a fresh "
        "child process (its own VmHWM). The render requests carry the whole concept.\n\n"
        f"{table}\n"
    )


if __name__ == "__main__":
    main()
