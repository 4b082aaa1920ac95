"""Synthetic inputs for tests and benchmarks: keyframe images, a concept from a synthesized
song's ground truth, and the orchestrator's timeline plan (key moment -> frame ranges).

Storyboard inputs too: a handmade storyboard (`storyboard_on_downbeats`), instrument drivers
from the truth (`add_instrument_drivers`), and one keyframe per shot with named layers and a
subject in several poses (`store_shot_keyframes`), as the seeder draws them.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from lumiere.v1 import animator_pb2, common_pb2, concept_pb2, seeder_pb2, storyboard_pb2

from services.common.contract import keyframe_key, time_to_frame, total_frames
from services.common.images import encode_png
from services.common.storage import ArtifactStore


def keyframe_image(width: int, height: int, seed: int) -> np.ndarray:
    """A smooth, textured RGB picture (gradient sky, hills, discs) - compresses like art."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    c0, c1 = rng.uniform(30, 225, 3), rng.uniform(30, 225, 3)
    g = (y / height)[..., None]
    img = (c0 * (1 - g) + c1 * g).astype(np.float32)
    for _ in range(3):
        amp, freq, ph = rng.uniform(0.05, 0.15), rng.uniform(1, 4), rng.uniform(0, 6.3)
        base = rng.uniform(0.55, 0.85)
        ridge = height * (base + amp * np.sin(2 * math.pi * freq * x / width + ph))
        mask = (y > ridge)[..., None]
        img = np.where(mask, img * 0.6 + rng.uniform(0, 255, 3) * 0.4, img)
    for _ in range(12):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height * 0.7)
        r = rng.uniform(0.02, 0.08) * width
        color = tuple(float(v) for v in rng.uniform(40, 255, 3))
        cv2.circle(img, (int(cx), int(cy)), int(r), color, -1, cv2.LINE_AA)
    noise = rng.normal(0, 6, (height // 8 + 1, width // 8 + 1, 3)).astype(np.float32)
    img += cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)
    return np.clip(img, 0, 255).astype(np.uint8)


def store_keyframes(
    store: ArtifactStore,
    project: str,
    times: list[float],
    width: int,
    height: int,
    layers: bool = False,
) -> list[seeder_pb2.Keyframe]:
    out = []
    for i, t in enumerate(times):
        img = keyframe_image(width, height, seed=100 + i)
        key = keyframe_key(project, i, "fixture")
        ref = store.put_bytes(key, encode_png(img), "image/png")
        kf = seeder_pb2.Keyframe(key_moment_id=f"km{i}", time=t, image=ref)
        if layers:
            fg = np.zeros((height, width, 4), np.uint8)
            cv2.circle(fg, (width // 2, height * 2 // 3), height // 4, (250, 240, 220, 255), -1)
            kf.layers.append(
                store.put_bytes(
                    key.replace(".png", "_bg.png"),
                    encode_png(np.dstack([img, np.full(img.shape[:2], 255, np.uint8)])),
                    "image/png",
                )
            )
            kf.layers.append(
                store.put_bytes(key.replace(".png", "_fg.png"), encode_png(fg), "image/png")
            )
        out.append(kf)
    return out


def concept_from_truth(
    truth,
    duration: float | None = None,
    moments: int = 4,  # type: ignore[no-untyped-def]
    sections: list[tuple[float, float, str, float]] | None = None,
) -> concept_pb2.Concept:
    """A concept as the concept service would produce it, from a synthesized song's truth."""
    duration = float(duration if duration is not None else truth.duration)
    downs = {round(float(d), 4) for d in truth.downbeats}
    beats = [
        concept_pb2.Beat(
            time=float(b),
            strength=0.8 if round(float(b), 4) in downs else 0.55,
            downbeat=round(float(b), 4) in downs,
        )
        for b in truth.beats
        if b < duration
    ]
    rate = 20.0
    n = int(duration * rate) + 1
    values = np.full(n, 0.5, np.float32)
    role_map = {
        "intro": concept_pb2.SECTION_ROLE_INTRO,
        "verse": concept_pb2.SECTION_ROLE_VERSE,
        "chorus": concept_pb2.SECTION_ROLE_CHORUS,
        "bridge": concept_pb2.SECTION_ROLE_BRIDGE,
        "drop": concept_pb2.SECTION_ROLE_DROP,
        "outro": concept_pb2.SECTION_ROLE_OUTRO,
        "breakdown": concept_pb2.SECTION_ROLE_BREAKDOWN,
    }
    energy_by_role = {
        "intro": 0.25,
        "verse": 0.5,
        "chorus": 0.95,
        "outro": 0.3,
        "bridge": 0.4,
        "drop": 1.0,
        "breakdown": 0.3,
    }
    secs = []
    for start, end, role in truth.sections:
        if start >= duration:
            break
        e = energy_by_role.get(role, 0.5)
        values[int(start * rate) : int(min(end, duration) * rate) + 1] = e
        secs.append(
            concept_pb2.Section(
                start=float(start),
                end=float(min(end, duration)),
                label=role,
                role=role_map.get(role, 0),
                energy=e,
            )
        )
    downbeat_times = [float(d) for d in truth.downbeats if d < duration]
    # Key moments on downbeats, spread over the song (first at 0).
    cand = [d for d in downbeat_times if d > 0]
    times = (
        [0.0]
        + [cand[int(round(i * (len(cand) - 1) / max(1, moments - 1)))] for i in range(1, moments)]
        if cand and moments > 1
        else [0.0]
    )
    times = sorted(set(times))
    kms = [
        concept_pb2.KeyMoment(id=f"km{i}", time=t, intensity=0.5, section_index=-1)
        for i, t in enumerate(times)
    ]
    return concept_pb2.Concept(
        duration_seconds=duration,
        tempo_bpm=float(truth.bpm),
        beats=beats,
        beats_per_bar=int(truth.beats_per_bar),
        downbeat_times=downbeat_times,
        intensity=concept_pb2.Curve(rate_hz=rate, values=values.tolist()),
        sections=secs,
        key_moments=kms,
    )


def plan_requests(
    project: str,
    concept: concept_pb2.Concept,
    keyframes: list[seeder_pb2.Keyframe],
    video: common_pb2.VideoSettings,
    fps: int,
    seed: int = 0,
) -> tuple[list[animator_pb2.RenderSegmentRequest], int]:
    """The orchestrator's plan: segment i = [f_i, f_{i+1}) from keyframe i into keyframe i+1."""
    total = total_frames(concept.duration_seconds, fps)
    starts = [time_to_frame(kf.time, fps) for kf in keyframes] + [total]
    reqs = []
    for i, kf in enumerate(keyframes):
        req = animator_pb2.RenderSegmentRequest(
            project_id=project,
            segment_index=i,
            start_frame=starts[i],
            end_frame=starts[i + 1],
            from_keyframe=kf,
            concept=concept,
            video=video,
            seed=seed + i,
        )
        if i + 1 < len(keyframes):
            req.to_keyframe.CopyFrom(keyframes[i + 1])
        reqs.append(req)
    return reqs, total


def compose_request(
    project: str,
    segments: list[animator_pb2.Segment],
    audio: common_pb2.ArtifactRef,
    video: common_pb2.VideoSettings,
    total: int,
) -> animator_pb2.ComposeVideoRequest:
    """The orchestrator's last call: join the rendered segments and mux the song."""
    return animator_pb2.ComposeVideoRequest(
        project_id=project, segments=segments, audio=audio, video=video, total_frames=total
    )


def add_instrument_drivers(concept: concept_pb2.Concept, truth) -> None:  # type: ignore[no-untyped-def]
    """Band curves and onsets as the concept stage would give them for the synth's drums: a
    kick (low band) on downbeats and beat 3, a snare (mid band) on beats 2 and 4, hats (high
    band) all along in sections with drums, a held chord under everything (smooth mid)."""
    rate = 50.0
    n = int(concept.duration_seconds * rate) + 1
    low = np.full(n, 0.2, np.float32)
    mid = np.full(n, 0.35, np.float32)
    high = np.full(n, 0.3, np.float32)
    beats = [b for b in truth.beats if b < concept.duration_seconds]
    per_bar = int(truth.beats_per_bar) or 4
    onsets = []
    for i, b in enumerate(beats):
        k = int(round(b * rate))
        pos = i % per_bar
        if pos in (0, per_bar // 2):
            low[k : k + 8] = np.maximum(low[k : k + 8], np.linspace(1.0, 0.3, len(low[k : k + 8])))
        else:
            mid[k : k + 6] = np.maximum(mid[k : k + 6], np.linspace(0.95, 0.4, len(mid[k : k + 6])))
        onsets.append(float(b))
    concept.band_low.CopyFrom(concept_pb2.Curve(rate_hz=rate, values=low.tolist()))
    concept.band_mid.CopyFrom(concept_pb2.Curve(rate_hz=rate, values=mid.tolist()))
    concept.band_high.CopyFrom(concept_pb2.Curve(rate_hz=rate, values=high.tolist()))
    del concept.onset_times[:]
    concept.onset_times.extend(onsets)


ShotDesign = tuple[int, int, int]  # (move, framing, entry)


def storyboard_on_downbeats(
    concept: concept_pb2.Concept,
    designs: list[ShotDesign],
    bars_per_shot: int | list[int] = 2,
    subject: bool = True,
) -> storyboard_pb2.Storyboard:
    """Shots cut on downbeats, `bars_per_shot` bars each (a list is cycled), the first at 0;
    the shots cycle through `designs`."""
    lengths = bars_per_shot if isinstance(bars_per_shot, list) else [bars_per_shot]
    downs = list(concept.downbeat_times)
    if not downs or downs[0] > 1e-6:
        downs = [0.0, *downs]
    cuts, bar, n = [0.0], 0, 0
    while True:
        bar += lengths[n % len(lengths)]
        n += 1
        if bar >= len(downs) or downs[bar] >= concept.duration_seconds - 0.5:
            break
        cuts.append(float(downs[bar]))
    board = storyboard_pb2.Storyboard(subject="dancer" if subject else "", source="director")
    for i, t in enumerate(cuts):
        move, framing, entry = designs[i % len(designs)]
        end = cuts[i + 1] if i + 1 < len(cuts) else concept.duration_seconds
        board.shots.add(
            id=f"shot-{i:03d}",
            index=i,
            start_time=t,
            end_time=end,
            framing=framing,
            move=move,
            entry=storyboard_pb2.SHOT_ENTRY_CUT if i == 0 else entry,
            subject=subject,
            intensity=0.6,
            seed=1000 + i,
        )
    return board


def subject_layers(
    width: int, height: int, poses: int, colour: tuple[int, int, int] = (250, 235, 90)
) -> list[np.ndarray]:
    """A stick-figure-like subject (RGBA) in `poses` poses, same place and size: the arms are
    raised to a different height in each pose."""
    out = []
    cx, feet = width // 2, int(height * 0.9)
    body_h = int(height * 0.55)
    for k in range(poses):
        layer = np.zeros((height, width, 4), np.uint8)
        c = (*colour, 255)
        top = feet - body_h
        cv2.rectangle(layer, (cx - width // 40, top + body_h // 5), (cx + width // 40, feet), c, -1)
        cv2.circle(layer, (cx, top + body_h // 10), body_h // 10, c, -1)
        arm_y = top + body_h // 5 + (k % 4) * body_h // 6
        arm_w = width // 10
        cv2.rectangle(layer, (cx - arm_w, arm_y), (cx + arm_w, arm_y + height // 60 + 2), c, -1)
        out.append(layer)
    return out


def store_shot_keyframes(
    store: ArtifactStore,
    project: str,
    board: storyboard_pb2.Storyboard,
    width: int,
    height: int,
    poses: int = 3,
    subject: bool = True,
    plain: bool = False,
) -> list[seeder_pb2.Keyframe]:
    """One keyframe per shot, as the seeder draws them: time = shot start, shot_id, flat image
    and named layers (background, mid, foreground, character, character_pose1..). `plain`: a
    flat grey background, so the subject is easy to find in the pixels."""
    out = []
    for i, shot in enumerate(board.shots):
        if plain:
            img = np.full((height, width, 3), 90, np.uint8)
        else:
            img = keyframe_image(width, height, seed=300 + i)
        key = keyframe_key(project, i, "shot")
        kf = seeder_pb2.Keyframe(
            key_moment_id="", time=shot.start_time, shot_id=shot.id, seed=shot.seed
        )
        bg = np.dstack([img, np.full(img.shape[:2], 255, np.uint8)])
        mid = np.zeros((height, width, 4), np.uint8)
        cv2.rectangle(mid, (0, int(height * 0.75)), (width // 3, height), (40, 40, 60, 255), -1)
        fg = np.zeros((height, width, 4), np.uint8)
        cv2.circle(fg, (width // 6, height // 5), height // 12, (255, 255, 255, 200), -1)
        layers = [("background", bg), ("mid", mid), ("foreground", fg)]
        flat = img.copy()
        if subject and shot.subject:
            figures = subject_layers(width, height, poses)
            layers.append(("character", figures[0]))
            layers += [(f"character_pose{k}", f) for k, f in enumerate(figures[1:], start=1)]
            a = figures[0][..., 3:4].astype(np.float32) / 255
            flat = (flat * (1 - a) + figures[0][..., :3] * a).astype(np.uint8)
        kf.image.CopyFrom(store.put_bytes(key, encode_png(flat), "image/png"))
        for name, layer in layers:
            kf.layers.append(
                store.put_bytes(key.replace(".png", f"_{name}.png"), encode_png(layer), "image/png")
            )
            kf.layer_names.append(name)
        out.append(kf)
    return out
