"""Render the look-book: 12 different prompts as one contact sheet (docs/seeder/...png).

.venv/bin/python -m bench.seeder_gallery [--out docs/seeder/contact_sheet_12_prompts.png]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from services.common.images import encode_png
from services.seeder.images import contact_sheet
from services.seeder.scene import render_scene
from tests.support.pictures import scene

# (prompt, role, intensity): a spread of scenes, moods and moments.
PROMPTS = [
    ("neon city at night", "climax", 0.9),
    ("ocean sunset", "build", 0.5),
    ("misty forest lake", "intro", 0.35),
    ("fire and embers", "peak", 0.95),
    ("space nebula", "climax", 0.8),
    ("desert dunes at golden hour", "resolution", 0.4),
    ("northern lights over frozen mountains", "bridge", 0.6),
    ("rain on a cyberpunk street by the river", "build", 0.7),
    ("underwater coral reef", "intro", 0.45),
    ("geometric crystal kaleidoscope", "peak", 0.85),
    ("melancholy cherry blossom in the rain", "resolution", 0.3),
    ("a velvet thunderstorm of forgotten glass", "climax", 0.9),
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="docs/seeder/contact_sheet_12_prompts.png")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=720)
    ap.add_argument("--thumb", type=int, default=400)
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()
    images, labels = [], []
    for i, (prompt, role, intensity) in enumerate(PROMPTS):
        t = time.perf_counter()
        spec = scene(prompt, args.width, args.height, args.seed + i, video_seed=args.seed)
        spec.role, spec.intensity, spec.mood_energy, spec.index = role, intensity, intensity, i
        out = render_scene(spec)
        dt = time.perf_counter() - t
        print(f"{prompt:45s} {role:10s} {out.family:9s} {','.join(out.effects):20s} {dt:.2f}s")
        images.append(out.image)
        labels.append(f"{prompt} ({role})")
    sheet = contact_sheet(images, labels, thumb_width=args.thumb, columns=4)
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode_png(sheet, 9))
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
