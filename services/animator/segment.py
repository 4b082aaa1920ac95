"""RenderSegment: from a request to a stored, idempotently keyed H.264 segment."""

from __future__ import annotations

import hashlib
import logging
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
from lumiere.v1 import animator_pb2, common_pb2, concept_pb2, seeder_pb2, storyboard_pb2

from services.animator import transitions as tr
from services.animator.captions import CaptionTrack
from services.animator.encode import encode_frames, frame_planes
from services.animator.generated import ClipRenderer, ShotBackends, shot_clip
from services.animator.motion import ShotMotion
from services.animator.music import Music
from services.animator.planes import chroma_direction
from services.animator.presets import EncoderProfile, resolve_profile
from services.animator.render import SegmentPlan, SegmentRenderer, Shot, is_opaque, prepare_shot
from services.animator.timeline import validate_frame_range
from services.common import contract
from services.common.errors import InvalidInput
from services.common.images import decode_image
from services.common.settings import Settings
from services.common.storage import ArtifactStore, validate_key

log = logging.getLogger(__name__)

Report = Callable[[int, int, str], None]

# The harmony's colour cast takes the hue of the keyframe's darkest palette colour (the seeder's
# palette order: deep, shadow, mid, light, accent): the shadows deepen in the look's own colour,
# the same for every shot of the look, and a grey one (noir) stays neutral.
CAST_ROLE = 0


def segment_key(
    request: animator_pb2.RenderSegmentRequest,
    profile: EncoderProfile,
    clips: Sequence[str] = (),
) -> str:
    # The renderer's version is part of the key: a new renderer never reuses an old render.
    # So are the generated clips a shot is made of (none: procedural, or a fallback).
    digest = hashlib.sha256()
    digest.update(contract.RENDER_VERSION.encode())
    digest.update(repr(profile).encode())
    digest.update(request.SerializeToString(deterministic=True))
    for clip in clips:
        digest.update(clip.encode())
    key = contract.segment_key(request.project_id, request.segment_index, digest.hexdigest()[:12])
    return validate_key(key)


def layer_names(kf: seeder_pb2.Keyframe) -> list[str]:
    """The keyframe's layer names when they name every stored layer, else [] (positional)."""
    names = list(kf.layer_names)
    if len(names) != len(kf.layers) or not all(ref.key for ref in kf.layers):
        return []
    return names


def _load_keyframe(
    store: ArtifactStore, kf: seeder_pb2.Keyframe, what: str
) -> tuple[np.ndarray | None, list[np.ndarray], list[str]]:
    """Decode a keyframe. With named layers over an opaque background the flat image is not
    decoded at all (the background covers it): one PNG fewer per keyframe."""
    names = layer_names(kf)
    layers = [
        decode_image(store.get_bytes(ref.key), f"{what} layer {i}")
        for i, ref in enumerate(kf.layers)
        if ref.key
    ]
    covered = bool(names) and names[0] == "background" and is_opaque(layers[0])
    image: np.ndarray | None
    if covered:
        image = None
    elif kf.image.key:
        image = decode_image(store.get_bytes(kf.image.key), f"{what} image")
    elif layers:
        image = layers[0]
    else:
        raise InvalidInput(f"{what} has no image (set Keyframe.image.key)")
    return image, layers, names


def find_shot(concept: concept_pb2.Concept, shot_id: str) -> storyboard_pb2.Shot | None:
    """The storyboard shot a keyframe opens (None: a key-moment keyframe, rendered as before)."""
    if not shot_id:
        return None
    for shot in concept.storyboard.shots:
        if shot.id == shot_id:
            return shot
    return None


def has_keyframe(kf: seeder_pb2.Keyframe) -> bool:
    return bool(kf.image.key or any(ref.key for ref in kf.layers))


def _same_keyframe(a: seeder_pb2.Keyframe, b: seeder_pb2.Keyframe) -> bool:
    """The last segment may name its own keyframe as the next one: that means hold, not move."""
    if b.time <= a.time:
        return True
    if a.shot_id or b.shot_id:
        # Shots under one key moment share its id: a shot keyframe is its shot.
        return a.shot_id == b.shot_id
    return bool(a.key_moment_id) and a.key_moment_id == b.key_moment_id


def _beat_period(music: Music, t: float) -> float:
    bt = music.beat_times
    if len(bt) < 2:
        return 0.5
    i = int(np.clip(np.searchsorted(bt, t), 1, len(bt) - 1))
    return float(bt[i] - bt[i - 1])


def build_plan(
    request: animator_pb2.RenderSegmentRequest, store: ArtifactStore
) -> tuple[SegmentPlan, EncoderProfile]:
    contract.check_project_id(request.project_id)
    validate_frame_range(request.start_frame, request.end_frame)
    if not has_keyframe(request.from_keyframe):
        raise InvalidInput("from_keyframe has no image (set Keyframe.image.key)")
    image_a, layers_a, names_a = _load_keyframe(store, request.from_keyframe, "from_keyframe")
    first = image_a if image_a is not None else layers_a[0]
    profile = resolve_profile(request.video, aspect=first.shape[1] / first.shape[0])
    del first
    fps = profile.fps
    concept = request.concept
    music = Music.from_concept(concept)
    # Continuous effects (sway, flow, particles) must agree across segments, which may carry
    # different per-segment seeds: seed them from the project. The per-segment seed varies the
    # camera plan only (plans share their starting pose, so joins stay seamless).
    noise_seed = f"project:{request.project_id}"
    shot_seed = f"{request.project_id}:{request.seed}"
    start, end = int(request.start_frame), int(request.end_frame)
    from_board = find_shot(concept, request.from_keyframe.shot_id)
    to_kf = request.to_keyframe
    to_board = find_shot(concept, to_kf.shot_id)

    def shot_for(
        kf: seeder_pb2.Keyframe,
        loaded: tuple[np.ndarray | None, list[np.ndarray], list[str]],
        board: storyboard_pb2.Shot | None,
    ) -> Shot:
        key = kf.key_moment_id or f"{kf.time:.3f}"
        motion = ShotMotion.plan(shot_seed, key, kf.time, music, board)
        if len(kf.palette) > CAST_ROLE:
            motion = replace(motion, cast=chroma_direction(kf.palette[CAST_ROLE]))
        image, layers, names = loaded
        return prepare_shot(
            image,
            layers,
            profile.width,
            profile.height,
            motion,
            contract.time_to_frame(kf.time, fps),
            names,
        )

    from_shot = shot_for(request.from_keyframe, (image_a, layers_a, names_a), from_board)
    del image_a, layers_a
    if from_board is not None:
        from_shot.incoming = tr.entry_transition(from_board.entry)
    elif request.from_keyframe.time > 0:
        # The transition that brought this keyframe in (e.g. a flash still decaying).
        from_shot.incoming = tr.choose_transition(
            concept, request.from_keyframe.key_moment_id, request.from_keyframe.time
        )
    to_shot = None
    landing = end
    kind = request.transition or tr.CROSSFADE
    if has_keyframe(to_kf) and not _same_keyframe(request.from_keyframe, to_kf):
        landing_at = contract.time_to_frame(to_kf.time, fps)
        landing = landing_at if to_kf.time > 0 and landing_at > start else end
        if not request.transition:
            kind = (
                tr.entry_transition(to_board.entry)
                if to_board is not None
                else tr.choose_transition(concept, to_kf.key_moment_id, to_kf.time)
            )
        # A hard cut on (or after) the segment's end never shows the next keyframe here: it
        # is not even decoded (with one shot per segment, half the per-segment decoding).
        if not (kind == tr.CUT and landing >= end):
            loaded_b = _load_keyframe(store, to_kf, "to_keyframe")
            to_shot = shot_for(to_kf, loaded_b, to_board)
            del loaded_b
            to_shot.incoming = kind
    available = max(2, landing - max(from_shot.start_frame, 0))
    transition = tr.plan_transition(
        kind,
        fps,
        _beat_period(music, landing / fps),
        available,
        short=from_board is not None or to_board is not None,
    )
    video_end = (
        contract.total_frames(concept.duration_seconds, fps) if concept.duration_seconds else end
    )
    fade = 0 if to_shot is not None else min(int(round(0.8 * fps)), max(0, (end - start) // 2))
    captions = None
    if len(concept.lyrics):
        captions = CaptionTrack(
            [(ln.start, ln.end, ln.text) for ln in concept.lyrics], profile.width, profile.height
        )
    plan = SegmentPlan(
        width=profile.width,
        height=profile.height,
        fps=fps,
        start=start,
        end=end,
        seed=noise_seed,
        music=music,
        from_shot=from_shot,
        to_shot=to_shot,
        landing_frame=landing,
        transition=transition,
        fade_out_frames=fade if end >= video_end else 0,
        # The flow warp costs ~1 ms of a ~3 ms 720p frame: worth it for draft/final, not previews.
        flow=profile.quality != "preview",
        captions=captions,
        director=from_board is not None,
    )
    return plan, profile


def existing_ref(store: ArtifactStore, key: str) -> common_pb2.ArtifactRef:
    with store.local_path(key) as path:
        digest = hashlib.sha256()
        size = 0
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
    return common_pb2.ArtifactRef(
        uri=store.uri(key),
        key=key,
        sha256=digest.hexdigest(),
        size_bytes=size,
        content_type="video/mp4",
    )


def render_segment(
    request: animator_pb2.RenderSegmentRequest,
    store: ArtifactStore,
    report: Report,
    backends: ShotBackends | None = None,
) -> animator_pb2.RenderSegmentResult:
    """Render and store one segment; returns the stored one untouched if it already exists.
    With shot `backends`, the shot may be a generated clip (generated.py) instead."""
    validate_frame_range(request.start_frame, request.end_frame)
    plan, profile = build_plan(request, store)
    shot = shot_clip(request, plan, store, backends or ShotBackends(Settings()), report)
    key = segment_key(request, profile, shot.keys)
    total = plan.end - plan.start
    segment = animator_pb2.Segment(
        index=request.segment_index, start_frame=plan.start, end_frame=plan.end, shot=shot.record
    )
    if store.exists(key):
        report(total, total, f"segment {request.segment_index} already rendered")
        segment.video.CopyFrom(existing_ref(store, key))
        return animator_pb2.RenderSegmentResult(segment=segment, render_fps=0.0)

    def progress(done: int, all_frames: int, fps: float) -> None:
        eta = (all_frames - done) / fps if fps > 0 else 0.0
        report(done, all_frames, f"frame {done}/{all_frames} · {fps:.0f} fps · ETA {eta:.1f} s")

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lumiere-anim-") as tmp:
        path = Path(tmp) / "segment.mp4"
        renderer = (
            SegmentRenderer(plan, frame_planes)
            if shot.clip is None
            else ClipRenderer(plan, shot.clip, frame_planes)
        )
        stats = encode_frames(renderer.frames(), path, profile, total, progress)
        if stats.count != total:
            raise RuntimeError(f"encoded {stats.count} frames, expected {total}")
        elapsed = time.perf_counter() - t0
        log.info(
            "segment %s/%d: %d frames %dx%d in %.2f s (%.1f fps); CPU ms/frame render %.2f, "
            "encode %.2f",
            request.project_id,
            request.segment_index,
            total,
            profile.width,
            profile.height,
            elapsed,
            total / max(elapsed, 1e-9),
            1000 * stats.render_cpu_s / total,
            1000 * stats.encode_cpu_s / total,
        )
        ref = store.put_file(key, path, "video/mp4")
    segment.video.CopyFrom(ref)
    return animator_pb2.RenderSegmentResult(segment=segment, render_fps=total / max(elapsed, 1e-9))
