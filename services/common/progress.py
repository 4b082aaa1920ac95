"""Run blocking work in a thread while streaming its progress to an async generator.

CPU-bound work (librosa, numpy, PyAV) must never block the asyncio loop; the work function
receives a `report(done, total, message)` callback that is safe to call from its thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any, Generic, TypeVar

from lumiere.v1 import common_pb2

T = TypeVar("T")

Report = Callable[[int, int, str], None]


class WorkCancelled(Exception):
    """Raised inside the work thread by `report` once the caller has gone away."""


class Finished(Generic[T]):
    def __init__(self, value: T) -> None:
        self.value = value


async def run_with_progress(
    stage: str, work: Callable[[Report], T], *, min_interval_s: float = 0.1
) -> AsyncIterator[common_pb2.Progress | Finished[T]]:
    """Yield Progress messages while `work(report)` runs in a thread, then Finished(result).

    If the consumer stops early (the RPC was cancelled: project deleted or cancelled, caller
    gone), the next `report` call in the work thread raises WorkCancelled, so the thread stops
    burning CPU and stores nothing for a run nobody waits for.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[common_pb2.Progress] = asyncio.Queue()
    last = [0.0]
    cancelled = threading.Event()

    def report(done: int, total: int, message: str) -> None:
        if cancelled.is_set():
            raise WorkCancelled(f"{stage} work cancelled at {done}/{total}")
        now = loop.time()
        # Throttle chatty reporters, but always pass the final step through.
        if done < total and now - last[0] < min_interval_s:
            return
        last[0] = now
        fraction = (done / total) if total > 0 else 0.0
        msg = common_pb2.Progress(
            fraction=min(max(fraction, 0.0), 1.0),
            done=done,
            total=total,
            message=message,
            stage=stage,
        )
        loop.call_soon_threadsafe(queue.put_nowait, msg)

    task: asyncio.Future[Any] = asyncio.ensure_future(asyncio.to_thread(work, report))
    try:
        while True:
            getter = asyncio.ensure_future(queue.get())
            try:
                done, _ = await asyncio.wait({task, getter}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                if not getter.done():
                    getter.cancel()
            if getter in done:
                yield getter.result()
                continue
            while not queue.empty():
                yield queue.get_nowait()
            yield Finished(task.result())
            return
    finally:
        cancelled.set()
        # The thread may still end with WorkCancelled; nobody awaits it any more.
        task.add_done_callback(lambda t: t.cancelled() or t.exception())


E = TypeVar("E")


async def stage_events(
    stage: str, work: Callable[[Report], Any], event: Callable[..., E]
) -> AsyncIterator[E]:
    """A stage RPC's stream: `event(progress=...)` while `work` runs, then `event(result=...)`.

    `event` is the RPC's event message type (a oneof of `progress` and `result`).
    """
    async for item in run_with_progress(stage, work):
        if isinstance(item, Finished):
            yield event(result=item.value)
        else:
            yield event(progress=item)
