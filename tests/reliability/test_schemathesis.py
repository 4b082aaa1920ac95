"""Schemathesis against the live gateway (issue 14): requests generated from the gateway's own
OpenAPI document, a bounded number per operation, against uvicorn + the real orchestrator (stage
services on loopback). Every answer must be a documented status with a conforming body and
content type, and none a server error."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import hypothesis
import hypothesis.errors
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from schemathesis import checks

from services.common.settings import Settings
from services.common.storage import LocalStore
from tests.support.fake_stages import FakeKnobs
from tests.support.live_gateway import live_stack

pytestmark = pytest.mark.integration
EXAMPLES_PER_OPERATION = 25
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]


@contextmanager
def stack_in_thread(settings: Settings, store: LocalStore) -> Iterator[str]:
    """`live_stack` on its own event loop in a thread (schemathesis calls are blocking)."""
    ready: list[str] = []
    stop = threading.Event()

    async def main() -> None:
        async with live_stack(settings, store, FakeKnobs()) as live:
            ready.append(str(live.client.base_url).rstrip("/"))
            while not stop.is_set():
                await asyncio.sleep(0.05)

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not ready:
        assert thread.is_alive() and time.monotonic() < deadline, "the stack did not start"
        time.sleep(0.05)
    try:
        yield ready[0]
    finally:
        stop.set()
        thread.join(timeout=30)


def test_generated_requests_get_documented_answers(
    settings: Settings, store: LocalStore, tmp_path: Path
) -> None:
    with stack_in_thread(settings, store) as url:
        schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
        failures: list[str] = []
        calls = 0
        operations = [result.ok() for result in schema.get_all_operations()]
        # Valid requests (as the schema describes them) and invalid ones (each violating it).
        modes = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
        for operation, mode in [(op, mode) for op in operations for mode in modes]:

            @given(case=operation.as_strategy(generation_mode=mode))
            @hypothesis.settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def call(case: schemathesis.Case) -> None:
                nonlocal calls
                calls += 1
                case.call_and_validate(checks=CHECKS, timeout=15)

            try:
                call()
            except hypothesis.errors.Unsatisfiable:
                continue  # nothing to make invalid (an operation without parameters or body)
            except BaseException as exc:  # noqa: BLE001 - schemathesis raises a group
                if isinstance(exc, KeyboardInterrupt):
                    raise
                failures.append(f"{operation.label} ({mode.value}): {exc}"[:1500])
        print(
            f"schemathesis: {len(operations)} operations, {calls} requests, {len(failures)} failing"
        )
        assert not failures, "\n\n".join(failures)
