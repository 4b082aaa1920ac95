"""`python -m gateway`: serve the REST API with uvicorn on settings.host:settings.gateway_port."""

from __future__ import annotations

import uvicorn

from gateway.app import create_app
from services.common.logs import setup_logging
from services.common.settings import get_settings


def main() -> None:
    settings = get_settings()
    setup_logging("gateway", settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.gateway_port,
        log_level=settings.log_level.lower(),
        # Seconds to let in-flight requests (and SSE streams) finish on SIGTERM.
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
