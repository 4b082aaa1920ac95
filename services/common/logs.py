"""One log format for every service."""

from __future__ import annotations

import logging


def setup_logging(service: str, level: str = "INFO") -> logging.Logger:
    logging.basicConfig(
        level=level.upper(),
        format=f"%(asctime)s %(levelname)s {service} %(name)s: %(message)s",
    )
    return logging.getLogger(service)
