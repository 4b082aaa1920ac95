"""Retried HTTP calls to generative services, with failures sorted into what to do next.

Transient failures (connection errors, timeouts, 429 rate limits, 5xx) are retried with
exponential backoff (tenacity), honouring `Retry-After`. A service that stays down is retried for
at least `down_wait_s` seconds (and at least `retries` attempts), so a project waits out a
restarting GPU box instead of failing in seconds. Anything else fails at once, sorted:
401/403 -> BackendAuthFailed, an exhausted quota -> BackendQuotaExceeded, a content-policy
refusal -> ContentRejected, other 4xx -> BackendFailed, each with the service's own message.

This is the only retry layer for a stage's outbound HTTP: the stage's gRPC call is retried as a
whole by the orchestrator's policy, and only after these retries ran out (UNAVAILABLE).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from tenacity import (
    RetryCallState,
    retry,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
)

from services.common.backend_errors import (
    BackendAuthFailed,
    BackendFailed,
    BackendQuotaExceeded,
    BackendUnavailable,
    ContentRejected,
)

# Error codes providers use for a used-up account (OpenAI: insufficient_quota; LiteLLM passes
# the provider's through) and for content-policy refusals.
QUOTA_CODES = ("insufficient_quota", "billing_hard_limit_reached", "quota_exceeded")
POLICY_CODES = ("content_policy_violation", "moderation_blocked", "content_filter", "safety")
MAX_RETRY_AFTER_S = 60.0


class Transient(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 3
    backoff_s: float = 0.5
    # Keep retrying a down service for at least this long (0: `retries` attempts only).
    down_wait_s: float = 0.0


def error_detail(resp: httpx.Response) -> tuple[str, str]:
    """(message, code) of an error response: OpenAI's {"error": {...}}, FastAPI's "detail"."""
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:300], ""
    if not isinstance(body, dict):
        return str(body)[:300], ""
    err = body.get("error") or body.get("detail") or body.get("message") or body
    code = ""
    if isinstance(err, dict):
        code = str(err.get("code") or err.get("type") or "")
        err = err.get("message") or err
    return str(err)[:300], code


def _retry_after(resp: httpx.Response) -> float | None:
    value = resp.headers.get("retry-after")
    if value is None:
        return None
    try:
        return min(MAX_RETRY_AFTER_S, max(0.0, float(value)))
    except ValueError:
        return None


def check_response(resp: httpx.Response, backend: str, what: str) -> None:
    """Raise the failure a non-2xx answer stands for (Transient when worth retrying)."""
    if resp.status_code < 400:
        return
    message, code = error_detail(resp)
    status = resp.status_code
    lowered = f"{code} {message}".lower()
    where = f"{backend} backend refused {what} (HTTP {status})"
    if status in (401, 403):
        raise BackendAuthFailed(f"{where}: {message} (check the API key)")
    if any(c in lowered for c in QUOTA_CODES):
        raise BackendQuotaExceeded(f"{where}: quota exhausted: {message}")
    if any(c in lowered for c in POLICY_CODES):
        raise ContentRejected(f"{where}: content policy: {message}")
    if status == 429 or status >= 500:
        raise Transient(f"HTTP {status}: {message}", _retry_after(resp))
    raise BackendFailed(f"{where}: {message}")


def _wait(policy: RetryPolicy) -> Any:
    backoff = wait_exponential(multiplier=policy.backoff_s, max=10)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, Transient) and exc.retry_after is not None:
            return exc.retry_after
        return float(backoff(state))

    return wait


def send(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    backend: str,
    policy: RetryPolicy,
    what: str = "the request",
    accept: tuple[int, ...] = (),
    **kwargs: Any,
) -> httpx.Response:
    """One request, retried on transient failures; returns a 2xx response (or one whose status
    is in `accept`, for the caller to read its own error format)."""
    stop: Any = stop_after_attempt(policy.retries)
    if policy.down_wait_s > 0:
        stop = stop & stop_after_delay(policy.down_wait_s)

    @retry(
        retry=retry_if_exception_type(Transient),
        stop=stop,
        wait=_wait(policy),
        reraise=True,
    )
    def attempt() -> httpx.Response:
        try:
            resp = client.request(method, url, **kwargs)
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise Transient(f"{type(exc).__name__}: {exc}") from exc
        if resp.status_code not in accept:
            check_response(resp, backend, f"{what} at {url}")
        return resp

    try:
        return attempt()
    except Transient as exc:
        tries = attempt.statistics.get("attempt_number", policy.retries)
        raise BackendUnavailable(
            f"{backend} backend at {url} failed after {tries} attempts: {exc}"
        ) from exc


def send_json(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    backend: str,
    policy: RetryPolicy,
    what: str = "the request",
    **kwargs: Any,
) -> dict[str, Any]:
    resp = send(client, method, url, backend=backend, policy=policy, what=what, **kwargs)
    try:
        body = resp.json()
    except ValueError as exc:
        raise BackendFailed(f"{backend} backend at {url} answered with non-JSON") from exc
    if not isinstance(body, dict):
        raise BackendFailed(f"{backend} backend at {url} answered with unexpected JSON")
    return body
