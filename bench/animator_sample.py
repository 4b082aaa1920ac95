"""A short sample video from a handmade storyboard, with the seeder's own shot drawings.

A ~20-s synthesized song (verse, chorus, verse at 120 bpm) with instrument bands from its truth;
~10 shots of one to two bars on downbeats covering every camera move and entry; each shot's
keyframe drawn by the seeder's `render_shot` (named layers + two pose variants, as the seeder
hands them over once wired); every segment rendered with `render_segment` and composed with the
song. Written to --out: sample.mp4, strip.png (7 consecutive frames around each of the first
cuts, one row per cut) and sheet.png (every half second). Prints the beat sync of the result.

Run: .venv/bin/python -m bench.animator_sample [--out /tmp/lumiere-sample] [--size 1280x720]
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import av
from lumiere.v1 import common_pb2, seeder_pb2
from lumiere.v1 import storyboard_pb2 as sb
from PIL import Image

from services.animator.compose import compose_video
from services.animator.segment import render_segment
from services.animator.sync_metric import analyze
from services.common.contract import keyframe_key
from services.common.images import encode_png
from services.common.storage import LocalStore
from services.devstack.synth import SectionSpec, SongSpec, synth_song, write_audio
from tests.support.animator_inputs import (
    add_instrument_drivers,
    compose_request,
    concept_from_truth,
    plan_requests,
    storyboard_on_downbeats,
)

PROMPT = "neon city at night, rain, a lone dancer"
DESIGNS = [
    (sb.CAMERA_MOVE_PUSH_IN, sb.FRAMING_WIDE, sb.SHOT_ENTRY_CUT),
    (sb.CAMERA_MOVE_PAN, sb.FRAMING_MEDIUM, sb.SHOT_ENTRY_CUT),
    (sb.CAMERA_MOVE_TRUCK, sb.FRAMING_SUBJECT, sb.SHOT_ENTRY_WHIP),
    (sb.CAMERA_MOVE_ORBIT, sb.FRAMING_CLOSE_UP, sb.SHOT_ENTRY_CROSSFADE),
    (sb.CAMERA_MOVE_CRANE, sb.FRAMING_WIDE, sb.SHOT_ENTRY_FLASH_CUT),
    (sb.CAMERA_MOVE_HANDHELD, sb.FRAMING_SUBJECT, sb.SHOT_ENTRY_CUT),
    (sb.CAMERA_MOVE_LOCKED, sb.FRAMING_MEDIUM, sb.SHOT_ENTRY_ZOOM_THROUGH),
    (sb.CAMERA_MOVE_PULL_OUT, sb.FRAMING_DETAIL, sb.SHOT_ENTRY_CUT),
]
VIEWPOINTS = ["skyline", "street", "street", "window", "rooftop", "street", "rooftop", "sign"]


def _noop(done: int, total: int, message: str) -> None:
    pass


def seeder_keyframes(
    store: LocalStore, board: sb.Storyboard, width: int, height: int
) -> list[seeder_pb2.Keyframe]:
    from services.seeder.shots import render_shot

    out = []
    for i, shot in enumerate(board.shots):
        shot.viewpoint = VIEWPOINTS[i % len(VIEWPOINTS)]
        shot.look = i % 3
        shot.subject = shot.framing in (sb.FRAMING_SUBJECT, sb.FRAMING_MEDIUM, sb.FRAMING_CLOSE_UP)
        r = render_shot(PROMPT, shot, width, height, subject_kind="dancer", pose_variants=2)
        key = keyframe_key("sample", i, "shot")
        kf = seeder_pb2.Keyframe(time=shot.start_time, shot_id=shot.id, seed=shot.seed)
        kf.image.CopyFrom(store.put_bytes(key, encode_png(r.image), "image/png"))
        layers = list(zip(r.layer_names, r.layers, strict=False))
        layers += [(f"character_pose{k}", p) for k, p in enumerate(r.poses, start=1)]
        for name, layer in layers:
            ref = store.put_bytes(key.replace(".png", f"_{name}.png"), encode_png(layer), "x")
            kf.layers.append(ref)
            kf.layer_names.append(name)
        out.append(kf)
    return out


def _tile(images: list[Image.Image], cols: int, width: int = 320) -> Image.Image:
    h = round(images[0].height * width / images[0].width)
    rows = (len(images) + cols - 1) // cols
    sheet = Image.new("RGB", (cols * width, rows * h))
    for i, im in enumerate(images):
        sheet.paste(im.resize((width, h)), ((i % cols) * width, (i // cols) * h))
    return sheet


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=Path("/tmp/lumiere-sample"))
    ap.add_argument("--size", default="1280x720")
    args = ap.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    fps = 30
    args.out.mkdir(parents=True, exist_ok=True)
    spec = SongSpec(
        "sample",
        bpm=120,
        sections=(
            SectionSpec("verse", 4, 0.5),
            SectionSpec("chorus", 4, 0.95, lead=True),
            SectionSpec("verse", 2, 0.5),
        ),
        seed=5,
    )
    samples, truth = synth_song(spec)
    store = LocalStore(args.out / "store")
    audio = store.put_file("uploads/sample/a.wav", write_audio(args.out / "a.wav", samples), "x")
    concept = concept_from_truth(truth, moments=3)
    add_instrument_drivers(concept, truth)
    concept.storyboard.CopyFrom(storyboard_on_downbeats(concept, DESIGNS, bars_per_shot=[1, 1, 2]))
    board = concept.storyboard
    kfs = seeder_keyframes(store, board, width, height)
    video = common_pb2.VideoSettings(
        width=width, height=height, fps=fps, quality=common_pb2.QUALITY_FINAL
    )
    reqs, total = plan_requests("sample", concept, kfs, video, fps)
    segments = [render_segment(r, store, _noop).segment for r in reqs]
    res = compose_video(compose_request("sample", segments, audio, video, total), store, _noop)
    target = args.out / "sample.mp4"
    with store.local_path(res.video.key) as path:
        shutil.copy(path, target)
    report = analyze(target, [b.time for b in concept.beats])
    print(f"{len(board.shots)} shots, {total} frames: {report.summary()}")
    with av.open(str(target)) as c:
        frames = [f.to_image() for f in c.decode(c.streams.video[0])]
    cuts = [int(s.start_frame) for s in segments[1:6]]
    strip = [frames[k] for c in cuts for k in range(c - 3, c + 4)]
    _tile(strip, 7).save(args.out / "strip.png")
    _tile(frames[:: fps // 2], 8).save(args.out / "sheet.png")
    for s, sg in zip(board.shots, segments, strict=True):
        kind = sb.ShotEntry.Name(s.entry)
        move = sb.CameraMove.Name(s.move)
        print(f"  frame {sg.start_frame:4d}: {s.id} {kind} {move} {sb.Framing.Name(s.framing)}")


if __name__ == "__main__":
    main()
