"""Seeder benchmark: seconds per keyframe, and diversity between sections vs within a section.

    .venv/bin/python -m bench.seeder_keyframes [--quick]

Speed: one core (OpenCV and BLAS threads = 1), median over prompts x repeats, for the
flattened keyframe (render + PNG) and the full keyframe (render + PNG + background, mid and
foreground RGBA PNGs), at 1280x720 and 1920x1080. Reported as CPU seconds of the rendering
thread (robust when other processes share the cores) and as wall seconds. The baseline,
measured in the same run, is a fixed trivial 720p job (Gaussian blur + PNG of a gradient
frame) so the ratio travels between machines.

Diversity: H-S colour-histogram (12 hue x 4 saturation bins) Bhattacharyya distance
(0 = same colours, 1 = disjoint) between
- the same key moment rendered with two seeds ("within a section": what must stay the same),
- different sections of one video (must be clearly distinct, yet one palette),
- the same role across different prompts/videos (the upper reference).
Writes bench/results/seeder_keyframes.md.
"""

from __future__ import annotations

import os

# One core, honestly: no hidden BLAS/OpenMP helper threads (set before numpy loads).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import itertools  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from lumiere.v1 import concept_pb2, seeder_pb2  # noqa: E402

from services.common.images import encode_png  # noqa: E402
from services.common.storage import LocalStore  # noqa: E402
from services.concept.analysis import MOMENT_ROLE  # noqa: E402
from services.seeder.backends import make_backend  # noqa: E402
from services.seeder.config import SeederSettings  # noqa: E402
from services.seeder.keyframes import generate_keyframes  # noqa: E402
from services.seeder.scene import render_scene  # noqa: E402
from tests.support.pictures import person_png, scene  # noqa: E402

PROMPTS = [
    "neon city at night",
    "ocean sunset",
    "forest mist",
    "fire and embers",
    "space nebula",
    "desert dunes",
    "northern lights",
    "geometric crystal",
]
SECTIONS = [
    ("intro", 0.15),
    ("build", 0.5),
    ("climax", 0.95),
    ("bridge", 0.4),
    ("peak", 0.85),
    ("resolution", 0.25),
]


def baseline_once() -> tuple[float, float]:
    c, t = time.thread_time(), time.perf_counter()
    frame = np.zeros((720, 1280, 3), np.uint8)
    frame[:] = np.linspace(0, 255, 1280, dtype=np.uint8)[None, :, None]
    blurred = cv2.GaussianBlur(frame, (0, 0), 5)
    cv2.imencode(".png", blurred, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    return time.thread_time() - c, time.perf_counter() - t


def keyframe_once(prompt: str, w: int, h: int, seed: int, layers: bool) -> tuple[float, float]:
    c, t = time.thread_time(), time.perf_counter()
    out = render_scene(
        scene(prompt, w, h, seed, role="climax", intensity=0.8, export_layers=layers)
    )
    encode_png(out.image)
    for layer in out.layers:
        encode_png(layer)
    return time.thread_time() - c, time.perf_counter() - t


def pipeline_wall(workers: int, tmp: Path) -> float:
    """Wall seconds for a whole 6-keyframe 720p video through the stage (store, layers, sheet)."""
    concept = concept_pb2.Concept(prompt="neon city at night")
    for k, (role, inten) in enumerate(SECTIONS):
        concept.key_moments.add(
            id=f"m{k}", time=8.0 * k, role=MOMENT_ROLE[role], intensity=inten, prompt=concept.prompt
        )
    cfg = SeederSettings(workers=workers)
    req = seeder_pb2.GenerateKeyframesRequest(project_id=f"bench{workers}", concept=concept, seed=1)
    store = LocalStore(tmp / f"w{workers}")
    t = time.perf_counter()
    generate_keyframes(req, store, cfg, make_backend(cfg), lambda *_: None)
    return time.perf_counter() - t


def character_consistency() -> tuple[float, dict[str, float]]:
    """Min silhouette IoU of the character layer across the 6 sections, and x centre per role."""

    from services.seeder.characters import character_height, load_character, scale_character
    from services.seeder.scene import Sprite

    char = load_character(person_png(), "bench")
    w, h = 640, 360
    sprite = Sprite(scale_character(char, character_height(h, w, [char])))
    masks, centres = [], {}
    for k, (role, inten) in enumerate(SECTIONS):
        out = render_scene(
            scene("forest mist", w, h, k, role=role, intensity=inten, index=k, characters=[sprite])
        )
        alpha = out.layers[3][..., 3] > 127
        ys, xs = np.nonzero(alpha)
        masks.append(alpha[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1])
        centres[role] = (xs.min() + xs.max() + 1) / 2 / w
    ref = masks[0]
    ious = [
        float((m & ref).sum() / (m | ref).sum()) if m.shape == ref.shape else 0.0 for m in masks
    ]
    return min(ious), centres


def hist(img: np.ndarray) -> np.ndarray:
    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
    hh = cv2.calcHist([hsv], [0, 1], None, [12, 4], [0, 180, 0, 256])
    return hh / hh.sum()


def dist(a: np.ndarray, b: np.ndarray) -> float:
    return float(cv2.compareHist(a, b, cv2.HISTCMP_BHATTACHARYYA))


def render(prompt: str, role: str, inten: float, seed: int, index: int) -> np.ndarray:
    spec = scene(prompt, 480, 270, seed, video_seed=1, role=role, intensity=inten, index=index)
    spec.export_layers = False
    return render_scene(spec).image


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    ap.add_argument("--out", default="bench/results/seeder_keyframes.md")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    repeats = 1 if args.quick else 3
    prompts = PROMPTS[:4] if args.quick else PROMPTS

    keyframe_once(PROMPTS[0], 640, 360, 0, True)  # warm-up (imports, allocator)
    base_runs = [baseline_once() for _ in range(15)]
    base_cpu = statistics.median(c for c, _ in base_runs)
    base_wall = statistics.median(t for _, t in base_runs)
    rows = []
    for (w, h), layers in itertools.product([(1280, 720), (1920, 1080)], [False, True]):
        runs = [keyframe_once(p, w, h, seed, layers) for p in prompts for seed in range(repeats)]
        cpu = [c for c, _ in runs]
        wall = [t for _, t in runs]
        rows.append(
            (
                f"{w}x{h}",
                "image + 3 layers" if layers else "image",
                statistics.median(cpu),
                max(cpu),
                statistics.median(wall),
                statistics.median(cpu) / base_cpu,
            )
        )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    import tempfile

    with tempfile.TemporaryDirectory() as tmpdir:
        serial = pipeline_wall(1, Path(tmpdir))
        parallel = pipeline_wall(2, Path(tmpdir))

    # Diversity.
    within, between, across = [], [], []
    per_video: dict[str, list[np.ndarray]] = {}
    for prompt in prompts:
        hs = [hist(render(prompt, r, i, 100 + k, k)) for k, (r, i) in enumerate(SECTIONS)]
        per_video[prompt] = hs
        between += [dist(a, b) for a, b in itertools.combinations(hs, 2)]
        for k, (r, i) in enumerate(SECTIONS[:3]):
            other_seed = hist(render(prompt, r, i, 900 + k, k))
            within.append(dist(hs[k], other_seed))
    for a, b in itertools.combinations(prompts, 2):
        across += [dist(x, y) for x, y in zip(per_video[a], per_video[b], strict=True)]
    div = [
        ("within a section (same moment, another seed)", within),
        ("between sections of one video", between),
        ("between videos (same role, other prompt)", across),
    ]

    lines = [
        "# Seeder benchmark",
        "",
        f"Machine: {platform.machine()}, {platform.python_version()}, OpenCV threads = 1, "
        f"{len(prompts)} prompts x {repeats} seeds per row. "
        "Numbers are noisy on a shared 2-core box.",
        "",
        f"Load average at the end of the speed runs: {load:.1f} on {os.cpu_count()} cores.",
        "",
        f"Baseline (same run): 720p gradient blur + PNG = {base_cpu * 1000:.1f} ms CPU, "
        f"{base_wall * 1000:.1f} ms wall (median of 15).",
        "",
        "| size | output | median CPU s/keyframe | max CPU s | median wall s | CPU x baseline |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {s} | {o} | {m:.3f} | {mx:.3f} | {wl:.3f} | {r:.1f} |" for s, o, m, mx, wl, r in rows
    ]
    lines += [
        "",
        "Target: <= 0.3 s per 1280x720 keyframe on one core.",
        "",
        f"Whole stage, 6 keyframes at 720p with layers, metadata and contact sheet "
        f"(wall): 1 worker {serial:.2f} s, 2 workers {parallel:.2f} s "
        f"(speed-up x{serial / parallel:.2f}; only meaningful when a second core is idle: "
        f"load average {load:.1f}).",
        "",
        "## Diversity (H-S histogram Bhattacharyya distance, 0 = same colours, 1 = disjoint)",
        "",
        "| pair | median | min | max | n |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {name} | {statistics.median(v):.3f} | {min(v):.3f} | {max(v):.3f} | {len(v)} |"
        for name, v in div
    ]
    ratio = statistics.median(between) / max(statistics.median(within), 1e-6)
    lines += [
        "",
        f"Sections differ {ratio:.1f}x more than variations of one section; videos differ "
        f"{statistics.median(across) / max(statistics.median(between), 1e-6):.1f}x more than "
        "sections of one video (one palette per video).",
    ]
    iou, centres = character_consistency()
    lines += [
        "",
        "## Character consistency",
        "",
        f"Silhouette IoU of the character layer across the 6 sections (same character, different "
        f"scenes, roles and positions): min {iou:.3f} (1.0 = identical).",
        "Horizontal centre by role: "
        + ", ".join(f"{role} {x:.2f}" for role, x in centres.items())
        + ".",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
