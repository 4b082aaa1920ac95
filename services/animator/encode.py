"""H.264 encoding with the fixed profile; frames are streamed, never all held in memory.

Rendering runs in a producer thread and the encoder in the calling thread, joined by a small
bounded queue: OpenCV, swscale and libx264 release the GIL, so one segment keeps both cores
busy. x264 itself runs single-threaded: two single-threaded encoders (two segments in parallel)
beat one auto-threaded encoder on this machine, and a fixed thread count keeps the bitstream
deterministic.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from services.animator.planes import Planes, to_i420
from services.animator.presets import EncoderProfile

ProgressFn = Callable[[int, int, float], None]  # (done, total, fps)

_SENTINEL = object()


def planes_to_frame(planes: Planes) -> av.VideoFrame:
    """BT.709 limited-range planes -> a yuv420p VideoFrame (no colour conversion; no copy
    either when the planes were rendered inside a frame from `frame_planes`)."""
    if isinstance(planes.frame, av.VideoFrame):
        return planes.frame
    return av.VideoFrame.from_ndarray(to_i420(planes), format="yuv420p")


def frame_planes(width: int, height: int) -> Planes:
    """Planes that are views into a new yuv420p VideoFrame's own buffers.

    The renderer draws straight into the encoder's input frame: copying a finished 720p frame
    into a VideoFrame (from_ndarray) measured ~0.5 ms, about a sixth of the render itself.
    Rows may be padded (line_size > width); OpenCV writes into such strided views in place.
    """
    frame = av.VideoFrame(width, height, "yuv420p")
    views = []
    for plane, (w, h) in zip(
        frame.planes,
        ((width, height), (width // 2, height // 2), (width // 2, height // 2)),
        strict=True,
    ):
        flat = np.frombuffer(memoryview(plane), dtype=np.uint8)
        views.append(flat[: h * plane.line_size].reshape(h, plane.line_size)[:, :w])
    return Planes(views[0], views[1], views[2], frame=frame)


class SegmentEncoder:
    """Video-only MP4 with libx264 and the profile's fixed settings; pts = local frame index."""

    def __init__(self, path: Path, profile: EncoderProfile, threads: int = 1) -> None:
        self.profile = profile
        self.container = av.open(str(path), "w", format="mp4")
        stream = self.container.add_stream("libx264", rate=profile.fps)
        stream.width = profile.width
        stream.height = profile.height
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, profile.fps)
        cc = stream.codec_context
        cc.color_primaries = 1  # BT.709
        cc.color_trc = 1
        cc.colorspace = 1
        cc.color_range = 1  # MPEG / limited
        cc.thread_count = threads
        stream.options = dict(profile.x264_options)
        self.stream = stream
        self.count = 0

    def encode(self, frame: av.VideoFrame) -> None:
        frame.pts = self.count
        frame.time_base = Fraction(1, self.profile.fps)
        for packet in self.stream.encode(frame):
            self.container.mux(packet)
        self.count += 1

    def close(self) -> None:
        for packet in self.stream.encode(None):
            self.container.mux(packet)
        self.container.close()

    def abort(self) -> None:
        # Already failing; the temp file is discarded anyway.
        with contextlib.suppress(Exception):
            self.container.close()


@dataclass
class EncodeStats:
    count: int = 0
    wall_s: float = 0.0
    render_cpu_s: float = 0.0  # CPU time of the render thread (OpenCV runs single-threaded)
    encode_cpu_s: float = 0.0  # CPU time of the encoding thread (x264 runs single-threaded)

    @property
    def fps(self) -> float:
        return self.count / self.wall_s if self.wall_s > 0 else 0.0


def encode_frames(
    frames: Iterator[Planes],
    path: Path,
    profile: EncoderProfile,
    total: int,
    progress: ProgressFn | None = None,
    queue_size: int = 8,
) -> EncodeStats:
    """Render (producer thread) and encode (this thread) a stream of frames.

    Rendering is faster than encoding, so the queue is usually full. Rather than waking the
    renderer for every frame the encoder takes (a sleep/wake per frame, each time on cold
    caches: 720p render CPU was 2.8 ms/frame that way vs 2.3 alone), a full queue parks the
    renderer until the encoder has drained it to one frame, and it then renders a burst
    (2.55 ms/frame). The encoder never starves: a frame renders ~5x faster than it encodes.
    """
    q: queue.Queue[object] = queue.Queue(maxsize=queue_size)
    low = 1
    room = threading.Event()  # set by the encoder whenever the queue is at or below `low`
    stop = threading.Event()
    error: list[BaseException] = []
    stats = EncodeStats()

    def produce() -> None:
        c0 = time.thread_time()
        try:
            for planes in frames:
                if stop.is_set():
                    return
                frame = planes_to_frame(planes)
                if q.full():
                    room.clear()
                    while q.qsize() > low and not stop.is_set():
                        room.wait(0.5)
                        room.clear()
                q.put(frame)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the encoding thread
            error.append(exc)
        finally:
            stats.render_cpu_s = time.thread_time() - c0
            q.put(_SENTINEL)

    producer = threading.Thread(target=produce, name="animator-render", daemon=True)
    encoder = SegmentEncoder(path, profile)
    producer.start()
    t0 = time.perf_counter()
    c0 = time.thread_time()
    try:
        while True:
            item = q.get()
            if q.qsize() <= low:
                room.set()
            if item is _SENTINEL:
                break
            assert isinstance(item, av.VideoFrame)
            encoder.encode(item)
            if progress is not None:
                elapsed = time.perf_counter() - t0
                progress(encoder.count, total, encoder.count / elapsed if elapsed > 0 else 0.0)
        if error:
            raise error[0]
        encoder.close()
    except BaseException:
        stop.set()
        room.set()
        # Drain so the producer can finish.
        while producer.is_alive():
            with contextlib.suppress(queue.Empty):
                q.get(timeout=0.1)
        encoder.abort()
        raise
    producer.join()
    stats.count = encoder.count
    stats.wall_s = time.perf_counter() - t0
    stats.encode_cpu_s = time.thread_time() - c0
    return stats
