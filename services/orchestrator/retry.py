"""The one retry policy of every stage call: how many attempts, how long between them, and which
failures are worth another attempt. A call that fails for good becomes a `StageError`.

A stage that cannot be reached at all (restarting, rolled, its pod still starting) is waited
for: such attempts do not count against `attempts` until the stage has been unreachable for
`outage_s` (a setting of minutes), so a project keeps its state and resumes when the stage is
back instead of failing after a few seconds.

gRPC's own channel retries (services/common/grpc_client.py) only cover calls that never reached
a server; everything a stage call can fail with after that is decided here.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import grpc

from services.common.stages import StageValue
from services.orchestrator.config import OrchestratorConfig

log = logging.getLogger(__name__)
T = TypeVar("T")
# A stage call reports each attempt with the server (replica) it goes to.
OnAttempt = Callable[[str], Awaitable[None]]

RETRYABLE_CODES = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.ABORTED,
    }
)
# A server killed mid-stream sometimes surfaces as INTERNAL/UNKNOWN with a transport error.
_TRANSPORT_HINTS = ("rst_stream", "stream removed", "socket closed", "connection reset")


class StageError(Exception):
    """A stage failed for good: which stage, a message a person can act on, retryable or not."""

    def __init__(self, stage: StageValue, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.stage = stage
        self.message = message
        self.retryable = retryable


def lost_server(exc: grpc.aio.AioRpcError) -> bool:
    """The server went away (down, killed mid-call, drained): another replica should be tried.

    CANCELLED only reaches us from the server's side (our own cancellation is asyncio's
    CancelledError): a draining server handing its unfinished calls back."""
    if exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED):
        return True
    details = (exc.details() or "").lower()
    return exc.code() in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN) and any(
        hint in details for hint in _TRANSPORT_HINTS
    )


def rpc_message(what: str, exc: grpc.aio.AioRpcError, where: str = "") -> str:
    details = exc.details() or "no details"
    place = f" on {where}" if where else ""
    return f"{what} failed{place}: {details} ({exc.code().name})"


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    backoff_s: float = 0.5
    backoff_max_s: float = 5.0
    # How long a stage may stay unreachable before its unreachable attempts start to count.
    outage_s: float = 0.0
    retryable_codes: frozenset[grpc.StatusCode] = RETRYABLE_CODES

    @classmethod
    def from_config(cls, config: OrchestratorConfig) -> RetryPolicy:
        return cls(
            config.max_attempts,
            config.retry_backoff_s,
            config.retry_backoff_max_s,
            config.stage_outage_s,
        )

    def is_retryable(self, exc: grpc.aio.AioRpcError) -> bool:
        return exc.code() in self.retryable_codes or lost_server(exc)

    def delay(self, attempt: int) -> float:
        """Exponential backoff after failed attempt `attempt` (1-based), with jitter."""
        base = self.backoff_s * (2 ** (attempt - 1))
        return min(self.backoff_max_s, base) * random.uniform(0.75, 1.25)

    async def run(
        self,
        stage: StageValue,
        what: str,
        attempt: Callable[[int], Awaitable[T]],
        where: Callable[[], str] = lambda: "",
    ) -> T:
        """`attempt(n)` until it succeeds, fails for good or runs out of attempts.

        `what` names the call in messages ("seeder", "animator (segment 3)"); `where()` names the
        servers it was tried on.
        """
        last: grpc.aio.AioRpcError | None = None
        counted = 0  # attempts that count against `attempts`
        streak = 0  # consecutive failures, for the backoff
        unreachable_since: float | None = None
        n = 0
        while True:
            n += 1
            try:
                return await attempt(n)
            except grpc.aio.AioRpcError as exc:
                last = exc
                if not self.is_retryable(exc):
                    break
                streak += 1
                clock = time.monotonic()
                # The outage clock runs while the stage stays unreachable; any answer resets it.
                unreachable_since = (unreachable_since or clock) if lost_server(exc) else None
                waited = clock - unreachable_since if unreachable_since is not None else 0.0
                if unreachable_since is None or waited >= self.outage_s:
                    counted += 1
                    if counted >= self.attempts:
                        break
                    log.warning(
                        "%s attempt %d failed on %s (%s %s); retrying",
                        what,
                        n,
                        where() or "?",
                        exc.code().name,
                        exc.details(),
                    )
                else:
                    log.warning(
                        "%s unreachable on %s for %.0f s (%s); waiting up to %.0f s for it",
                        what,
                        where() or "?",
                        waited,
                        exc.code().name,
                        self.outage_s,
                    )
                await asyncio.sleep(self.delay(min(streak, 30)))
        assert last is not None
        retryable = self.is_retryable(last)
        message = rpc_message(what, last, where())
        if retryable:
            message += f" after {n} attempts"
            if unreachable_since is not None and self.outage_s > 0:
                message += f" (unreachable for {time.monotonic() - unreachable_since:.0f} s)"
        raise StageError(stage, message, retryable)
