"""The one retry policy of stage calls: attempts, backoff, which failures are retried."""

from __future__ import annotations

import grpc
import pytest
from lumiere.v1 import common_pb2

from services.orchestrator.config import OrchestratorConfig
from services.orchestrator.retry import RetryPolicy, StageError

FAST = RetryPolicy(attempts=3, backoff_s=0.0, backoff_max_s=0.0)


def _error(code: grpc.StatusCode, details: str = "") -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details)


def _failing(*errors: grpc.aio.AioRpcError):  # type: ignore[no-untyped-def]
    calls: list[int] = []

    async def attempt(n: int) -> str:
        calls.append(n)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return "ok"

    return attempt, calls


async def test_transient_failures_are_retried_until_success() -> None:
    attempt, calls = _failing(_error(grpc.StatusCode.UNAVAILABLE), _error(grpc.StatusCode.ABORTED))
    assert await FAST.run(common_pb2.STAGE_SEEDER, "seeder", attempt) == "ok"
    assert calls == [1, 2, 3]


async def test_a_terminal_failure_is_not_retried() -> None:
    attempt, calls = _failing(_error(grpc.StatusCode.INVALID_ARGUMENT, "bad audio"))
    with pytest.raises(StageError) as err:
        await FAST.run(common_pb2.STAGE_CONCEPT, "concept", attempt, lambda: "c:1")
    assert calls == [1]
    assert err.value.stage == common_pb2.STAGE_CONCEPT and not err.value.retryable
    assert err.value.message == "concept failed on c:1: bad audio (INVALID_ARGUMENT)"


async def test_running_out_of_attempts_is_retryable_and_says_so() -> None:
    attempt, calls = _failing(*[_error(grpc.StatusCode.DEADLINE_EXCEEDED)] * 5)
    with pytest.raises(StageError) as err:
        await FAST.run(common_pb2.STAGE_ANIMATOR, "animator (segment 2)", attempt)
    assert calls == [1, 2, 3]
    assert err.value.retryable and err.value.message.endswith("after 3 attempts")


def test_a_server_killed_mid_stream_is_retryable() -> None:
    assert FAST.is_retryable(_error(grpc.StatusCode.INTERNAL, "Received RST_STREAM"))
    assert not FAST.is_retryable(_error(grpc.StatusCode.INTERNAL, "division by zero"))


def test_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(attempts=5, backoff_s=1.0, backoff_max_s=3.0)
    assert 0.75 <= policy.delay(1) <= 1.25
    assert 1.5 <= policy.delay(2) <= 2.5
    assert policy.delay(4) <= 3.0 * 1.25


async def test_a_stage_down_longer_than_the_attempts_is_waited_for() -> None:
    # Issue 14, defect 2: a stage unreachable for longer than attempts × backoff (~8 s; a
    # rolling restart, a slow pod start) failed every project in flight. Unreachable attempts
    # are now free within the outage window; the call resumes when the stage answers.
    policy = RetryPolicy(attempts=2, backoff_s=0.0, backoff_max_s=0.0, outage_s=5.0)
    attempt, calls = _failing(*[_error(grpc.StatusCode.UNAVAILABLE, "connection refused")] * 6)
    assert await policy.run(common_pb2.STAGE_SEEDER, "seeder", attempt) == "ok"
    assert calls == [1, 2, 3, 4, 5, 6, 7]


async def test_a_stage_down_past_the_outage_window_fails_and_says_how_long() -> None:
    policy = RetryPolicy(attempts=2, backoff_s=0.01, backoff_max_s=0.01, outage_s=0.05)
    attempt, calls = _failing(*[_error(grpc.StatusCode.UNAVAILABLE)] * 1000)
    with pytest.raises(StageError) as err:
        await policy.run(common_pb2.STAGE_CONCEPT, "concept", attempt, lambda: "c:1")
    assert err.value.retryable
    assert "unreachable for" in err.value.message
    assert 3 <= len(calls) < 1000


async def test_other_failures_still_count_against_the_attempts_during_an_outage() -> None:
    policy = RetryPolicy(attempts=2, backoff_s=0.0, backoff_max_s=0.0, outage_s=60.0)
    attempt, calls = _failing(*[_error(grpc.StatusCode.DEADLINE_EXCEEDED)] * 5)
    with pytest.raises(StageError):
        await policy.run(common_pb2.STAGE_ANIMATOR, "animator (segment 1)", attempt)
    assert calls == [1, 2]


def test_the_outage_window_is_a_setting_of_minutes() -> None:
    config = OrchestratorConfig()
    assert config.stage_outage_s >= 120
    assert RetryPolicy.from_config(config).outage_s == config.stage_outage_s


def test_a_call_a_draining_server_handed_back_is_retried() -> None:
    # A server stopping (SIGTERM) cancels the calls still running after its grace period.
    assert FAST.is_retryable(_error(grpc.StatusCode.CANCELLED, "Cancelled on the server side"))
