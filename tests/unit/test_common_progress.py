"""run_with_progress: progress then result; work stops when the consumer goes away."""

from __future__ import annotations

import asyncio
import threading
import time

from services.common.progress import Finished, Report, WorkCancelled, run_with_progress


async def test_progress_then_result() -> None:
    def work(report: Report) -> int:
        for i in range(3):
            report(i, 3, f"step {i}")
            time.sleep(0.12)
        report(3, 3, "done")
        return 42

    events = [e async for e in run_with_progress("test", work)]
    assert isinstance(events[-1], Finished) and events[-1].value == 42
    assert [e.done for e in events[:-1]] == [0, 1, 2, 3]
    assert events[-2].fraction == 1.0 and events[-2].stage == "test"


async def test_work_thread_stops_when_consumer_is_cancelled() -> None:
    stopped = threading.Event()
    steps: list[int] = []

    def work(report: Report) -> None:
        try:
            for i in range(1000):
                report(i, 1000, "working")
                steps.append(i)
                time.sleep(0.01)
        except WorkCancelled:
            stopped.set()
            raise

    async def consume() -> None:
        async for _ in run_with_progress("test", work):
            pass

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.2)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert await asyncio.to_thread(stopped.wait, 2.0)
    assert len(steps) < 200
