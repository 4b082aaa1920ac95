"""Optional API-key authentication, per-key project ownership and per-key rate limiting.

Off by default (no keys configured): everyone is the same anonymous principal and sees every
project. With keys, a request must carry one (`X-API-Key: k`, `Authorization: Bearer k`, or
`?api_key=k` for EventSource and <video src>, which cannot set headers); each key sees only the
projects it created. Ownership is a small marker object next to the uploads, so any number of
stateless gateway replicas agree on it. Only a hash of the key is ever stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import math
import re
import time
from dataclasses import dataclass

from fastapi import HTTPException, Request

from services.common.contract import owner_key
from services.common.errors import NotFound
from services.common.storage import ArtifactStore


@dataclass(frozen=True)
class Principal:
    # Stable id of the key (sha256 prefix); "" when authentication is off.
    owner: str
    # What the rate limiter counts against: the key id, or the client address.
    bucket: str


def key_id(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:24]


class TokenBucket:
    """Sustained `per_minute` with bursts up to `burst`, one bucket per client."""

    def __init__(self, per_minute: float, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, name: str, now: float | None = None) -> float:
        """Take one token; returns 0 when allowed, else seconds until one is available."""
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.get(name, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._buckets[name] = (tokens - 1.0, now)
            return 0.0
        self._buckets[name] = (tokens, now)
        if len(self._buckets) > 100_000:  # forget idle clients rather than grow forever
            self._buckets.clear()
        return (1.0 - tokens) / self.rate


class Security:
    def __init__(
        self,
        api_keys: list[str],
        per_minute: float,
        burst: int,
        failures_per_minute: float = 30.0,
        failure_burst: int = 10,
    ) -> None:
        self.keys = {key_id(k): k for k in api_keys}
        self.limiter = TokenBucket(per_minute, burst) if per_minute > 0 else None
        # Failed key checks, per client address: counted before the 401 is decided, so guessing
        # keys in parallel runs into 429 after a few tries.
        self.failures = TokenBucket(failures_per_minute, failure_burst)

    @property
    def enabled(self) -> bool:
        return bool(self.keys)

    def _presented_key(self, request: Request) -> str | None:
        key = request.headers.get("x-api-key")
        if key:
            return key
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        return request.query_params.get("api_key")

    def authenticate(self, request: Request) -> Principal:
        client = request.client.host if request.client else "unknown"
        if not self.enabled:
            principal = Principal(owner="", bucket=f"ip:{client}")
        else:
            key = self._presented_key(request)
            kid = key_id(key) if key else ""
            known = self.keys.get(kid)
            if not key or known is None or not hmac.compare_digest(known, key):
                _limited(self.failures, f"ip:{client}")
                if not key:
                    raise HTTPException(
                        401,
                        "an API key is required: send it as X-API-Key or Authorization: Bearer",
                        {"WWW-Authenticate": "Bearer"},
                    )
                raise HTTPException(401, "the API key is not valid", {"WWW-Authenticate": "Bearer"})
            principal = Principal(owner=kid, bucket=f"key:{kid}")
        if self.limiter is not None:
            _limited(self.limiter, principal.bucket)
        return principal


def _limited(bucket: TokenBucket, name: str) -> None:
    """Take a token from `name`'s bucket or answer 429 with when to retry."""
    wait = bucket.take(name)
    if wait > 0:
        raise HTTPException(
            429,
            f"rate limit exceeded; retry in {math.ceil(wait)} s",
            {"Retry-After": str(math.ceil(wait))},
        )


_KEY_IN_QUERY = re.compile(r"(api_key=)[^&\s\"]*")


class RedactApiKeys(logging.Filter):
    """Keeps `?api_key=` values (EventSource / <video> URLs) out of access logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _KEY_IN_QUERY.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args
            )
        return True


def install_log_redaction() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactApiKeys) for f in access.filters):
        access.addFilter(RedactApiKeys())


class Ownership:
    """Which key created which project (markers in the store, cached: they never change)."""

    def __init__(self, store: ArtifactStore, enabled: bool) -> None:
        self.store = store
        self.enabled = enabled
        self._cache: dict[str, str] = {}

    async def record(self, project_id: str, owner: str) -> None:
        if not self.enabled:
            return
        await asyncio.to_thread(
            self.store.put_bytes, owner_key(project_id), owner.encode(), "text/plain"
        )
        self._cache[project_id] = owner

    async def owner_of(self, project_id: str) -> str:
        if project_id in self._cache:
            return self._cache[project_id]
        try:
            data = await asyncio.to_thread(self.store.get_bytes, owner_key(project_id))
        except NotFound:
            return ""  # created behind the gateway's back (direct gRPC): nobody's via REST
        owner = data.decode().strip()
        self._cache[project_id] = owner
        return owner

    async def visible(self, project_id: str, principal: Principal) -> bool:
        if not self.enabled:
            return True
        return await self.owner_of(project_id) == principal.owner

    def forget(self, project_id: str) -> None:
        self._cache.pop(project_id, None)
