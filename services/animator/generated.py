"""Generated shots: fetch (or reuse) a segment's clip from its shot backend, conform it, and
render it with the same accents, grading, particles, captions and transitions as a procedural
shot.

- The clip is cached in the store by the hash of everything that shaped it (backend identity
  with its workflow hash, prompt, seed, size, length, first/last images): resume, regenerate and
  preview -> full never call the backend twice for the same shot.
- A shot longer than the backend's longest clip is made in pieces, each started from the
  previous piece's last frame (continuity), and joined frame-exactly (conform.join).
- A failing backend either fails the segment with an error naming the shot, or (the default,
  AnimatorSettings.fallback) the shot is drawn procedurally; either way the ShotRecord says so.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import av
import cv2
import numpy as np
from lumiere.v1 import animator_pb2
from PIL import Image

from services.animator.clip_backends import ClipRequest, ShotBackend, make_shot_backend
from services.animator.config import AnimatorSettings
from services.animator.conform import ConformedClip, FittedFrames, join
from services.animator.planes import Planes, chroma_matrix
from services.animator.render import (
    FrameAlloc,
    SegmentPlan,
    SegmentRenderer,
    Shot,
    empty_planes,
)
from services.common import contract
from services.common.backend_errors import BackendFailed
from services.common.errors import InvalidInput, LumiereError
from services.common.settings import Settings
from services.common.storage import ArtifactStore

log = logging.getLogger(__name__)

Report = Callable[[int, int, str], None]
# Generated clips can be long and large, but a reply is never allowed to be a bomb.
MAX_CLIP_FRAMES = 2000


class ShotBackends:
    """The deployment's shot backends, built on first use and shared by every render."""

    def __init__(self, settings: Settings, cfg: AnimatorSettings | None = None) -> None:
        self.settings = settings
        self.cfg = cfg or AnimatorSettings()
        self._built: dict[str, ShotBackend | None] = {}
        self._lock = threading.Lock()

    def choose(self, asked: str) -> str:
        name = asked or self.settings.shot_backend or "procedural"
        allowed = self.settings.allowed_shot_backends()
        if name not in allowed:
            raise InvalidInput(
                f"shot backend {name!r} is not offered by this deployment "
                f"(allowed: {', '.join(allowed)})"
            )
        return name

    def get(self, name: str) -> ShotBackend | None:
        with self._lock:
            if name not in self._built:
                self._built[name] = make_shot_backend(name, self.cfg)
            return self._built[name]


def decode_clip(data: bytes, what: str) -> tuple[list[np.ndarray], float]:
    """An encoded clip -> its RGB frames and frame rate."""
    try:
        with av.open(io.BytesIO(data), "r") as container:
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or 0
            frames = []
            for frame in container.decode(stream):
                frames.append(frame.to_ndarray(format="rgb24"))
                if len(frames) > MAX_CLIP_FRAMES:
                    raise BackendFailed(f"{what} has more than {MAX_CLIP_FRAMES} frames")
    except (av.FFmpegError, IndexError) as exc:
        raise BackendFailed(f"{what} is not a playable video: {exc}") from exc
    if not frames:
        raise BackendFailed(f"{what} has no frames")
    return frames, float(rate) if rate else 24.0


def _png(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def clip_digest(identity: str, req: ClipRequest) -> str:
    blob = json.dumps(
        {
            "backend": identity,
            "prompt": req.prompt,
            "negative": req.negative_prompt,
            "seed": req.seed,
            "size": [req.width, req.height],
            "seconds": round(req.seconds, 4),
            "first": hashlib.sha256(req.first_frame).hexdigest(),
            "last": hashlib.sha256(req.last_frame).hexdigest() if req.last_frame else "",
        },
        sort_keys=True,
    ).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


@dataclass
class GeneratedShot:
    clip: ConformedClip | None  # None: render the shot procedurally
    record: animator_pb2.ShotRecord
    keys: list[str]  # the stored clips it is made of (part of the segment's key)


def shot_clip(
    request: animator_pb2.RenderSegmentRequest,
    plan: SegmentPlan,
    store: ArtifactStore,
    backends: ShotBackends,
    report: Report,
) -> GeneratedShot:
    """The segment's conformed clip (or None) and what made it."""
    kf = request.from_keyframe
    name = backends.choose(request.shot_backend)
    record = animator_pb2.ShotRecord(shot_id=kf.shot_id, backend=name, status="procedural")
    if name == "procedural":
        return GeneratedShot(None, record, [])
    n_out = plan.end - plan.start
    seconds = n_out / plan.fps
    t0 = time.perf_counter()
    try:
        backend = backends.get(name)
        if backend is None:
            return GeneratedShot(None, record, [])
        if not kf.image.key:
            raise InvalidInput("from_keyframe has no flat image for a generated shot")
        first = store.get_bytes(kf.image.key)
        to_kf = request.to_keyframe
        last = (
            store.get_bytes(to_kf.image.key)
            if to_kf.image.key and backend.uses_last_frame
            else None
        )
        pieces = max(1, math.ceil(seconds / backend.max_seconds - 1e-9))
        prompt = kf.prompt or request.concept.prompt
        frames_of: list[list[np.ndarray]] = []
        fps = 0.0
        called = 0
        details = []
        keys = []
        for i in range(pieces):
            req = ClipRequest(
                shot_id=kf.shot_id,
                prompt=prompt,
                negative_prompt=backends.cfg.negative_prompt,
                seed=int(kf.seed) + i,
                width=plan.width,
                height=plan.height,
                seconds=seconds / pieces,
                first_frame=first,
                last_frame=last if i == pieces - 1 else None,
            )
            key = contract.clip_key(
                request.project_id, kf.shot_id, clip_digest(backend.identity(), req)
            )
            keys.append(key)
            report(
                0,
                n_out,
                f"shot {kf.shot_id or request.segment_index}: clip {i + 1}/{pieces} with {name}",
            )
            if store.exists(key):
                data = store.get_bytes(key)
                details.append(f"{key.rsplit('/', 1)[-1]} (reused)")
            else:
                what = f"shot {kf.shot_id or request.segment_index}: {name}"

                def on_progress(stage: str, done: int, total: int, what: str = what) -> None:
                    report(
                        0, n_out, f"{what} {stage} {done}/{total}" if total else f"{what} {stage}"
                    )

                result = backend.generate(req, on_progress)
                called += 1
                data = result.data
                store.put_bytes(key, data, "video/mp4")
                details.append(", ".join(f"{k}={v}" for k, v in sorted(result.info.items())))
            frames, fps_i = decode_clip(data, f"{name} clip {i + 1} of shot {kf.shot_id}")
            if fps and abs(fps_i - fps) > 1e-3:
                # Pieces at different rates: bring this one to the first one's (rare).
                frames = _resample(frames, fps_i, fps)
            fps = fps or fps_i
            frames_of.append(frames)
            first = _png(frames[-1])  # the next piece starts where this one ends
        sources = FittedFrames(join(frames_of), plan.width, plan.height)
        clip = ConformedClip(sources, fps, n_out, plan.fps)
    except InvalidInput:
        raise
    except LumiereError as exc:
        record.seconds = time.perf_counter() - t0
        message = f"shot {kf.shot_id or request.segment_index} ({name}): {exc}"
        if not backends.cfg.fallback:
            raise type(exc)(message) from exc
        log.warning("falling back to procedural: %s", message)
        record.status, record.detail = "fallback", message[:500]
        return GeneratedShot(None, record, [])
    record.seconds = time.perf_counter() - t0 if called else 0.0
    record.status = "generated" if called else "cached"
    record.clips = pieces
    record.detail = "; ".join(details)[:500]
    return GeneratedShot(clip, record, keys)


def _resample(frames: list[np.ndarray], src: float, dst: float) -> list[np.ndarray]:
    n = max(1, int(round(len(frames) * dst / src)))
    idx = np.minimum(np.round(np.arange(n) * src / dst).astype(int), len(frames) - 1)
    return [frames[i] for i in idx]


class ClipRenderer(SegmentRenderer):
    """A segment whose opening shot is a generated clip: that shot's picture at frame k is the
    clip's frame, moved only by the beat (punch zoom, shake) and transitions; the rest of the
    frame pipeline (accents, grading, particles, captions, fades) is the procedural one."""

    def __init__(self, plan: SegmentPlan, clip: ConformedClip, alloc: FrameAlloc) -> None:
        super().__init__(plan, alloc)
        self.clip = clip

    def shot_image(
        self,
        shot: Shot,
        frame: int,
        extra_zoom: float = 1.0,
        shift_x: float = 0.0,
        dst: Planes | None = None,
        shift_y: float = 0.0,
    ) -> Planes:
        if shot is not self.plan.from_shot:
            return super().shot_image(shot, frame, extra_zoom, shift_x, dst, shift_y)
        p = self.plan
        src = self.clip.frame(frame - p.start)
        if dst is None:
            dst = empty_planes(p.width, p.height)
        w, h = p.width, p.height
        z = extra_zoom
        m = np.array(
            [
                [z, 0.0, (w - 1) / 2 * (1 - z) + shift_x * w],
                [0.0, z, (h - 1) / 2 * (1 - z) + shift_y * h],
            ],
            np.float32,
        )
        if abs(z - 1.0) < 1e-6 and shift_x == 0.0 and shift_y == 0.0:
            dst.y[:] = src.y
            dst.u[:] = src.u
            dst.v[:] = src.v
            return dst
        mc = chroma_matrix(m)
        reflect = cv2.BORDER_REFLECT
        cv2.warpAffine(src.y, m, (w, h), dst=dst.y, flags=cv2.INTER_LINEAR, borderMode=reflect)
        half = (w // 2, h // 2)
        cv2.warpAffine(src.u, mc, half, dst=dst.u, flags=cv2.INTER_LINEAR, borderMode=reflect)
        cv2.warpAffine(src.v, mc, half, dst=dst.v, flags=cv2.INTER_LINEAR, borderMode=reflect)
        return dst
