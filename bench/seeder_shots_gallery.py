"""Render shot keyframes of one prompt as a storyboard would ask for them: contact sheets under
docs/seeder/, and the median time per 1280x720 shot keyframe.

.venv/bin/python -m bench.seeder_shots_gallery [--shots 24] [--timing 40]

Each sheet cycles through the prompt family's viewpoints, the framings (wide, medium, close-up,
detail, subject, abstract) and eight looks, with the subject on screen in about half the shots,
the way the director's plan mixes them.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from services.common.images import encode_png
from services.seeder.images import contact_sheet
from services.seeder.scene import SceneSpec, choose_family, scene_palette
from services.seeder.shots import ShotSpec, render_shot
from services.seeder.viewpoints import ABSTRACT_VIEWPOINTS, VIEWPOINTS

PROMPTS = {
    "neon_city_dancer": "neon city at night, rain, a lone dancer",
    "desert_astronaut": "an astronaut walking through desert dunes at golden hour",
    "forest_singer": "a singer in a misty forest, autumn",
}
FRAMINGS = ("wide", "medium", "close_up", "subject", "wide", "detail", "medium", "abstract")


def plan(prompt: str, n: int, seed: int) -> list[ShotSpec]:
    """A storyboard-like mix: viewpoints in turn, framings in turn, looks in pairs."""
    _, own, video = scene_palette(SceneSpec(prompt=prompt, width=64, height=64, seed=0))
    views = VIEWPOINTS[choose_family(own, video)]
    shots = []
    for i in range(n):
        framing = FRAMINGS[i % len(FRAMINGS)]
        view = ABSTRACT_VIEWPOINTS[i // 8 % 4] if framing == "abstract" else views[i % len(views)]
        subject = framing in ("medium", "close_up", "subject") or (framing == "wide" and i % 3 == 0)
        shots.append(
            ShotSpec(
                framing=framing,
                viewpoint="" if framing == "detail" else view,
                look=(i // 2) % 8,
                subject=subject,
                seed=seed * 1000 + i,
                intensity=0.35 + 0.6 * ((i * 7) % 10) / 10,
            )
        )
    return shots


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="docs/seeder")
    ap.add_argument("--shots", type=int, default=24)
    ap.add_argument("--timing", type=int, default=40, help="shots timed at 1280x720")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=720)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, prompt in PROMPTS.items():
        images, labels = [], []
        for s in plan(prompt, args.shots, args.seed):
            r = render_shot(prompt, s, args.width, args.height, video_seed=args.seed)
            images.append(r.image)
            who = f" +{r.subject}" if r.subject else ""
            labels.append(f"{r.viewpoint} {s.framing} {r.look}{who}")
        sheet = contact_sheet(images, labels, thumb_width=320, columns=6)
        path = out / f"shots_{name}.png"
        path.write_bytes(encode_png(sheet, 9))
        print(f"wrote {path}")
    if args.timing:
        prompt = PROMPTS["neon_city_dancer"]
        shots = plan(prompt, args.timing, args.seed + 1)
        render_shot(prompt, shots[0], 1280, 720)  # warm up
        times = []
        for s in shots:
            t = time.perf_counter()
            render_shot(prompt, s, 1280, 720, video_seed=args.seed)
            times.append(time.perf_counter() - t)
        print(
            f"1280x720 shot keyframe over {len(times)} shots: "
            f"median {statistics.median(times):.3f}s"
            f"  p90 {sorted(times)[int(0.9 * len(times))]:.3f}s  max {max(times):.3f}s"
        )


if __name__ == "__main__":
    main()
