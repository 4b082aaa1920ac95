"""The animator replica pool: round-robin over replicas, bounded in-flight calls per replica, and
slots granted fairly between projects (round-robin over the projects that are waiting), so one
long song cannot starve the others.
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
from lumiere.v1 import animator_pb2_grpc

from services.common.grpc_client import aio_channel

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
    # After UNAVAILABLE the replica is avoided until then (other replicas are tried first).
    down_until: float = 0.0
    failures: int = 0
    served: int = 0


@dataclass
class _Waiter:
    future: asyncio.Future[Replica]
    avoid: frozenset[str]


@dataclass
class AnimatorPool:
    targets: list[str]
    inflight_per_replica: int
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
            await r.channel.close()

    def mark_down(self, replica: Replica, seconds: float = 3.0) -> None:
        replica.failures += 1
        replica.down_until = time.monotonic() + seconds

    def _pick(self, avoid: frozenset[str]) -> Replica | None:
        """Next replica with a free slot in round-robin order, preferring healthy, not-avoided."""
        now = time.monotonic()
        n = len(self.replicas)
        order = [self.replicas[(self._rr + k) % n] for k in range(n)]
        free = [r for r in order if r.inflight < r.capacity]
        if not free:
            return None
        for prefs in (
            lambda r: r.target not in avoid and r.down_until <= now,
            lambda r: r.down_until <= now,
            lambda r: r.target not in avoid,
            lambda r: True,
        ):
            chosen = next((r for r in free if prefs(r)), None)
            if chosen is not None:
                # A replica that is down and avoided is only used when nothing else can ever
                # free up soon; waiting for a better one is handled by the caller's backoff.
                self._rr = (self.replicas.index(chosen) + 1) % n
                chosen.inflight += 1
                return chosen
        return None

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

    def stats(self) -> list[dict[str, object]]:
        return [
            {"target": r.target, "inflight": r.inflight, "served": r.served, "failures": r.failures}
            for r in self.replicas
        ]
