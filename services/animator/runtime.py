"""Process-level tuning for the animator's render workers."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

import cv2

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


@functools.cache
def tune_process() -> None:
    """Make per-frame buffers cheap and keep OpenCV from oversubscribing the cores.

    Every frame allocates a few multi-megabyte planes and remap maps. glibc serves blocks that
    large with fresh mmap()s, so each frame paid thousands of page faults (measured: building
    the flow maps went from 10 ms to 1 ms per frame with the heap reused). Keeping such blocks on
    the heap lets freed frames be reused. Each render already runs in its own thread and
    several renders run at once, so OpenCV's own worker pool would only add contention.
    """
    cv2.setNumThreads(1)
    name = ctypes.util.find_library("c")
    if not name:
        return
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt(_M_MMAP_THRESHOLD, 64 << 20)
        libc.mallopt(_M_TRIM_THRESHOLD, 64 << 20)
    except (OSError, AttributeError):  # not glibc: keep the defaults
        pass
