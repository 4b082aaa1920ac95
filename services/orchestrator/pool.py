"""The animator replica pool: round-robin over replicas, bounded in-flight calls per replica, and
slots granted fairly between projects (round-robin over the projects that are waiting), so one
long song cannot starve the others. A replica a call lost is marked down and stays down until
its health check answers SERVING again (a probe in the background, with backoff): a killed or
draining replica is never picked while another one is up, however free its slots look. The
attempts of one call avoid the replicas that failed it (`ReplicaAttempts`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from lumiere.v1 import animator_pb2_grpc

from services.common.grpc_client import aio_channel
from services.orchestrator.retry import lost_server

log = logging.getLogger(__name__)


def expand_targets(targets: Sequence[str]) -> list[str]:
    """`dns:///name:port` becomes one target per address the name resolves to.

    Each resolved address is then its own replica with its own in-flight bound; a name that does
    not resolve (yet) is kept as is and gRPC's own resolver/round_robin takes over.
    """
    out: list[str] = []
    for target in targets:
        if not target.startswith("dns:///"):
            out.append(target)
            continue
        hostport = target[len("dns:///") :]
        host, _, port = hostport.rpartition(":")
        try:
            infos = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
        except (OSError, ValueError):
            out.append(target)
            continue
        addrs = sorted({str(info[4][0]) for info in infos})
        out.extend(f"[{a}]:{port}" if ":" in a else f"{a}:{port}" for a in addrs)
    # Keep order, drop duplicates.
    return list(dict.fromkeys(out))


@dataclass
class Replica:
    target: str
    channel: grpc.aio.Channel
    stub: animator_pb2_grpc.AnimatorServiceStub
    capacity: int
    inflight: int = 0
    # Lost by a call (killed, draining, unreachable): not picked while another replica is up,
    # until its health check passes again.
    down: bool = False
    lost_at: float = 0.0
    probe: asyncio.Task[None] | None = None


@dataclass
class _Waiter:
    future: asyncio.Future[Replica]
    avoid: frozenset[str]


@dataclass
class AnimatorPool:
    targets: list[str]
    inflight_per_replica: int
    # First wait before a down replica's health is checked; doubles up to `probe_max_s`.
    probe_s: float = 0.25
    probe_max_s: float = 2.0
    replicas: list[Replica] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.replicas = [
            Replica(
                t,
                ch := aio_channel(t),
                animator_pb2_grpc.AnimatorServiceStub(ch),
                max(1, self.inflight_per_replica),
            )
            for t in expand_targets(self.targets)
        ]
        if not self.replicas:
            raise ValueError("no animator replicas configured")
        self._rr = 0
        self._waiters: OrderedDict[str, deque[_Waiter]] = OrderedDict()

    async def close(self) -> None:
        for r in self.replicas:
            if r.probe is not None:
                r.probe.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await r.probe
            await r.channel.close()

    def mark_down(self, replica: Replica) -> None:
        replica.down = True
        replica.lost_at = time.monotonic()
        if replica.probe is None or replica.probe.done():
            with contextlib.suppress(RuntimeError):  # no loop: nothing to probe with (tests)
                replica.probe = asyncio.get_running_loop().create_task(
                    self._probe(replica), name=f"probe-{replica.target}"
                )

    async def _probe(self, replica: Replica) -> None:
        """Check a down replica's health with backoff until it serves again, then take it back."""
        stub = health_pb2_grpc.HealthStub(replica.channel)
        delay = self.probe_s
        while True:
            await asyncio.sleep(delay)
            try:
                reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=max(delay, 0.5))
            except grpc.aio.AioRpcError:
                reply = None
            if reply is not None and reply.status == health_pb2.HealthCheckResponse.SERVING:
                break
            delay = min(delay * 2, self.probe_max_s)
        log.info("animator replica %s is serving again", replica.target)
        replica.down = False
        replica.probe = None
        # Calls waiting for a slot may take this one now.
        self._dispatch()

    def _pick(self, avoid: frozenset[str]) -> Replica | None:
        """Next replica with a free slot in round-robin order, or None to wait for one.

        A replica marked down is never picked while another one is up (its free slot is not
        worth a likely failure; the caller waits for an up replica's slot instead). Among the
        candidates, one the caller has not just failed on (`avoid`) comes first.
        """
        n = len(self.replicas)
        order = [self.replicas[(self._rr + k) % n] for k in range(n)]
        up = [r for r in order if not r.down]
        # Every replica down: try the one lost longest ago (the retry policy paces the calls).
        fallback = sorted(order, key=lambda r: r.lost_at)
        candidates = [r for r in (up or fallback) if r.inflight < r.capacity]
        if not candidates:
            return None
        chosen = next((r for r in candidates if r.target not in avoid), candidates[0])
        self._rr = (self.replicas.index(chosen) + 1) % n
        chosen.inflight += 1
        return chosen

    def _dispatch(self) -> None:
        # Grant free slots to waiting projects in turn: the head project gets one slot, then moves
        # to the back of the line.
        while self._waiters:
            project, queue = next(iter(self._waiters.items()))
            while queue and queue[0].future.done():
                queue.popleft()
            if not queue:
                del self._waiters[project]
                continue
            replica = self._pick(queue[0].avoid)
            if replica is None:
                return
            waiter = queue.popleft()
            waiter.future.set_result(replica)
            self._waiters.move_to_end(project)
            if not queue:
                del self._waiters[project]

    def release(self, replica: Replica) -> None:
        replica.inflight -= 1
        self._dispatch()

    async def acquire(self, project_id: str, avoid: frozenset[str] = frozenset()) -> Replica:
        if not self._waiters:
            replica = self._pick(avoid)
            if replica is not None:
                return replica
        future: asyncio.Future[Replica] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(project_id, deque()).append(_Waiter(future, avoid))
        self._dispatch()
        try:
            return await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release(future.result())
            raise

    @contextlib.asynccontextmanager
    async def slot(
        self, project_id: str, avoid: frozenset[str] = frozenset()
    ) -> AsyncIterator[Replica]:
        replica = await self.acquire(project_id, avoid)
        try:
            yield replica
        finally:
            self.release(replica)

    def attempts(self, project_id: str) -> ReplicaAttempts:
        """Slots for the attempts of one call, each avoiding the replicas that failed it."""
        return ReplicaAttempts(self, project_id)


class ReplicaAttempts:
    """The replicas one call was tried on; each new attempt avoids the ones that failed it.

    A replica the call lost (down, killed mid-stream) is also marked down in the pool, so other
    calls avoid it for a few seconds too. Once every replica failed the call, only the last
    one is avoided.
    """

    def __init__(self, pool: AnimatorPool, project_id: str) -> None:
        self.pool = pool
        self.project_id = project_id
        self.avoid: set[str] = set()
        self.tried: list[str] = []

    def where(self) -> str:
        # Each replica once: a call waiting out an outage may try the same ones many times.
        return ", ".join(dict.fromkeys(self.tried))

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[Replica]:
        async with self.pool.slot(self.project_id, frozenset(self.avoid)) as replica:
            self.tried.append(replica.target)
            try:
                yield replica
            except grpc.aio.AioRpcError as exc:
                if lost_server(exc):
                    self.pool.mark_down(replica)
                self._failed_on(replica.target)
                raise

    def _failed_on(self, target: str) -> None:
        self.avoid.add(target)
        if len(self.avoid) >= len(self.pool.replicas):
            self.avoid = {target} if len(self.pool.replicas) > 1 else set()
