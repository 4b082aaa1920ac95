"""`python -m gateway`: serve the REST API with uvicorn on settings.host:settings.gateway_port."""

from __future__ import annotations

import uvicorn

from gateway.app import create_app
from gateway.config import GatewaySettings
from gateway.serving import uvicorn_config
from services.common.logs import setup_logging
from services.common.settings import get_settings


def main() -> None:
    settings = get_settings()
    setup_logging("gateway", settings.log_level)
    config = GatewaySettings()
    uvicorn.Server(
        uvicorn_config(
            create_app(settings, config),
            config,
            host=settings.host,
            port=settings.gateway_port,
            log_level=settings.log_level.lower(),
        )
    ).run()


if __name__ == "__main__":
    main()
