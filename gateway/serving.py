"""How the gateway is served: uvicorn with limits against slow and numerous clients.

uvicorn times out idle keep-alive connections, but not a connection whose request headers
arrive slowly (its keep-alive timer is reset by every byte). `HeaderDeadlineProtocol` closes a
connection whose first request's headers are not complete within `header_timeout_s`; bodies
are bounded by `gateway.guard`. `max_connections` caps connections (and tasks) at once.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.h11_impl import H11Protocol

from gateway.config import GatewaySettings

log = logging.getLogger(__name__)


def header_deadline_protocol(timeout_s: float) -> type[H11Protocol]:
    class HeaderDeadlineProtocol(H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._header_timer = self.loop.call_later(timeout_s, self._headers_too_slow)

        def _headers_too_slow(self) -> None:
            if self.cycle is None and not self.transport.is_closing():
                log.info("closing a connection whose request headers took over %.0f s", timeout_s)
                self.transport.close()

        def connection_lost(self, exc: Exception | None) -> None:
            self._header_timer.cancel()
            super().connection_lost(exc)

    return HeaderDeadlineProtocol


def uvicorn_config(app: FastAPI, config: GatewaySettings, **options: Any) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        http=header_deadline_protocol(config.header_timeout_s),
        timeout_keep_alive=config.keep_alive_timeout_s,
        limit_concurrency=config.max_connections,
        # Seconds to let in-flight requests (and SSE streams) finish on SIGTERM.
        timeout_graceful_shutdown=10,
        **options,
    )
