"""What every request with a body goes through before a route sees it (a pure ASGI middleware).

- **Auth first.** With API keys on, the key is checked (and the caller rate-limited) from the
  headers alone, so a request without a valid key is answered 401/429 before any of its body is
  read; the route's own dependency reuses the result.
- **Size.** A body over its limit is refused 413: at once from `Content-Length`, or the moment
  the streamed bytes pass it. JSON (and any non-multipart) bodies get `max_json_kb`; the create
  form gets the sum of its file limits (`UploadLimits.body_bytes`).
- **Slow bodies.** A body must keep arriving at `min_body_bytes_per_s` on average after a grace
  of `body_grace_s` (and never stall for longer than that); otherwise 408 and the connection is
  closed. A client trickling one byte every two seconds ties a worker up for seconds, not hours.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import error_response
from gateway.state import GatewayState

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class BodyDeadline(HTTPException):
    def __init__(self) -> None:
        super().__init__(408, "the request body arrived too slowly", {"Connection": "close"})


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(
            413,
            f"the request body is larger than the {_size(limit)} limit",
            {"Connection": "close"},
        )


def _size(limit: int) -> str:
    return f"{limit >> 20} MiB" if limit >= 1 << 20 else f"{limit >> 10} KiB"


class RequestGuard:
    def __init__(self, app: ASGIApp, state: GatewayState) -> None:
        self.app = app
        self.state = state

    def _limit(self, scope: Scope) -> int:
        headers = dict(scope.get("headers") or [])
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        if content_type.startswith("multipart/form-data"):
            return self.state.limits.body_bytes
        return self.state.config.max_json_kb << 10

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        try:
            if self.state.security.enabled and scope["path"].startswith("/api/"):
                principal = self.state.security.authenticate(Request(scope))
                scope.setdefault("state", {})["principal"] = principal
            limit = self._limit(scope)
            declared = dict(scope.get("headers") or []).get(b"content-length")
            if declared is not None:
                text = declared.decode("latin-1").strip()
                if not (text.isascii() and text.isdigit()):
                    raise HTTPException(400, "Content-Length is not a number")
                if len(text) > 18 or int(text) > limit:
                    raise BodyTooLarge(limit)
        except HTTPException as exc:
            await error_response(exc.status_code, str(exc.detail), _headers(exc))(
                scope, receive, send
            )
            return
        await self.app(scope, self._guarded(receive, limit), send)

    def _guarded(self, receive: Receive, limit: int) -> Receive:
        config = self.state.config
        started = time.monotonic()
        received = 0
        body_done = False

        async def guarded() -> Message:
            nonlocal received, body_done
            if body_done:  # after the body: waiting for a disconnect is not bounded here
                return await receive()
            allowed = started + config.body_grace_s + received / config.min_body_bytes_per_s
            wait = min(allowed - time.monotonic(), config.body_grace_s)
            if wait <= 0:
                raise BodyDeadline()
            try:
                message = await asyncio.wait_for(receive(), wait)
            except TimeoutError:
                raise BodyDeadline() from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
                body_done = not message.get("more_body", False)
            else:
                body_done = True
            return message

        return guarded


def _headers(exc: HTTPException) -> dict[str, Any] | None:
    return dict(exc.headers) if exc.headers else None
