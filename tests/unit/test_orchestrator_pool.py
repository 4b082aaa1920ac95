"""The animator pool: round-robin, bounded in-flight per replica, fair between projects."""

from __future__ import annotations

import asyncio
import contextlib
import time
from types import SimpleNamespace

import grpc

from services.common.grpc_server import start_server
from services.orchestrator import pool as pool_module
from services.orchestrator.pool import AnimatorPool, expand_targets


async def test_round_robin_and_inflight_bound() -> None:
    pool = AnimatorPool(["a:1", "b:1", "c:1"], inflight_per_replica=2)
    got = [await pool.acquire("p") for _ in range(6)]
    assert [r.target for r in got] == ["a:1", "b:1", "c:1", "a:1", "b:1", "c:1"]
    assert all(r.inflight == 2 for r in pool.replicas)
    waiter = asyncio.ensure_future(pool.acquire("p"))
    await asyncio.sleep(0.01)
    assert not waiter.done()  # every replica is at its bound
    pool.release(got[1])
    replica = await asyncio.wait_for(waiter, 1)
    assert replica.target == "b:1"
    await pool.close()


async def test_failed_replica_is_avoided_on_retry() -> None:
    pool = AnimatorPool(["a:1", "b:1"], inflight_per_replica=4)
    first = await pool.acquire("p")
    pool.release(first)
    pool.mark_down(first)
    for _ in range(3):
        r = await pool.acquire("p", avoid=frozenset({first.target}))
        assert r.target != first.target
        pool.release(r)
    await pool.close()


async def test_slots_are_shared_fairly_between_projects() -> None:
    pool = AnimatorPool(["a:1"], inflight_per_replica=1)
    holder = await pool.acquire("big")
    order: list[str] = []

    async def job(project: str) -> None:
        async with pool.slot(project):
            order.append(project)
            await asyncio.sleep(0)

    # "big" queues 6 segments before "small" queues 2: small must not wait for all of big's.
    tasks = [asyncio.ensure_future(job("big")) for _ in range(6)]
    await asyncio.sleep(0)
    tasks += [asyncio.ensure_future(job("small")) for _ in range(2)]
    await asyncio.sleep(0)
    pool.release(holder)
    await asyncio.gather(*tasks)
    assert order[:4] == ["big", "small", "big", "small"]
    assert pool.replicas[0].inflight == 0
    await pool.close()


async def test_cancelled_waiter_does_not_leak_a_slot() -> None:
    pool = AnimatorPool(["a:1"], inflight_per_replica=1)
    holder = await pool.acquire("p")
    waiter = asyncio.ensure_future(pool.acquire("q"))
    await asyncio.sleep(0)
    waiter.cancel()
    pool.release(holder)
    await asyncio.sleep(0)
    assert pool.replicas[0].inflight == 0
    await pool.close()


def test_dns_name_expands_to_one_replica_per_address() -> None:
    targets = expand_targets(["dns:///localhost:50053", "10.0.0.5:1", "10.0.0.5:1"])
    assert "127.0.0.1:50053" in targets
    assert targets.count("10.0.0.5:1") == 1
    # A name that does not resolve is left to gRPC's own resolver.
    assert expand_targets(["dns:///no-such-host.invalid:1"]) == ["dns:///no-such-host.invalid:1"]


async def test_a_down_replica_is_not_picked_while_another_is_up() -> None:
    pool = AnimatorPool(["a:1", "b:1"], inflight_per_replica=1)
    down = pool.replicas[0]
    pool.mark_down(down)
    busy = await pool.acquire("p")
    assert busy.target == "b:1"
    waiter = asyncio.ensure_future(pool.acquire("p"))
    await asyncio.sleep(0.01)
    assert not waiter.done()  # a:1 has a free slot, but it is down: wait for b:1
    pool.release(busy)
    assert (await asyncio.wait_for(waiter, 1)).target == "b:1"
    await pool.close()


async def test_when_every_replica_is_down_one_is_still_used() -> None:
    pool = AnimatorPool(["a:1", "b:1"], inflight_per_replica=1)
    for replica in pool.replicas:
        pool.mark_down(replica)
    replica = await asyncio.wait_for(pool.acquire("p"), 1)
    assert replica.target in ("a:1", "b:1")
    await pool.close()


def _unavailable() -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(
        grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata()
    )


async def test_each_attempt_of_a_call_avoids_the_replicas_that_failed_it() -> None:
    pool = AnimatorPool(["a:1", "b:1", "c:1"], inflight_per_replica=4)
    attempts = pool.attempts("p")
    for _ in range(2):
        with contextlib.suppress(grpc.aio.AioRpcError):
            async with attempts.slot():
                raise _unavailable()
    async with attempts.slot():
        pass
    assert attempts.tried == ["a:1", "b:1", "c:1"]
    assert [r.down for r in pool.replicas] == [True, True, False]  # lost: marked down
    assert attempts.where() == "a:1, b:1, c:1"
    await pool.close()


async def test_a_lost_replica_stays_down_until_it_answers_again(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Issue 14, defect 1: a killed replica (nothing listens on it) came back into the rotation
    # a few seconds after it was lost and, being the only one with a free slot, took the
    # retries of the very segment it had failed.
    pool = AnimatorPool(["127.0.0.1:1", "b:1"], inflight_per_replica=1)
    dead, live = pool.replicas
    pool.mark_down(dead)
    busy = await pool.acquire("p")
    assert busy is live
    later = time.monotonic() + 60.0
    # Only the pool's clock jumps past the old down window (asyncio keeps the real one).
    monkeypatch.setattr(pool_module, "time", SimpleNamespace(monotonic=lambda: later))
    waiter = asyncio.ensure_future(pool.acquire("p"))
    await asyncio.sleep(0.3)
    assert not waiter.done()  # the dead replica has a free slot, but it never answered again
    pool.release(busy)
    assert (await asyncio.wait_for(waiter, 1)) is live
    await pool.close()


async def test_a_lost_replica_returns_once_its_health_check_passes() -> None:
    server, _health, port = await start_server("127.0.0.1:0", lambda _server: [])
    try:
        pool = AnimatorPool([f"127.0.0.1:{port}", "b:1"], inflight_per_replica=1, probe_s=0.05)
        back = pool.replicas[0]
        pool.mark_down(back)
        assert back.down
        for _ in range(100):
            if not back.down:
                break
            await asyncio.sleep(0.05)
        assert not back.down
        await pool.close()
    finally:
        await server.stop(0)
