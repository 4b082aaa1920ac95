"""REST gateway: the public HTTP API (FastAPI) in front of the orchestrator's gRPC API.

`create_app()` builds the app; `python -m gateway` serves it with uvicorn.
"""

from gateway.app import create_app

__all__ = ["create_app"]
