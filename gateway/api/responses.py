"""The error answers the API documents: every error is `{"detail": message}` (gateway/errors.py),
by status. Routers that act on a project list these once for all their routes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorBody(BaseModel):
    detail: str


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


PROJECT_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _error("bad input: the message names what is wrong (a bad id, option or value)"),
    401: _error("an API key is required or the key is not valid (when keys are on)"),
    404: _error("no such project (or it belongs to another API key)"),
    409: _error("the project's state does not allow this now (e.g. it is processing)"),
    413: _error("the request body is over its size limit"),
    429: _error("rate limit exceeded; see Retry-After"),
    503: _error("the orchestrator is unavailable; see Retry-After"),
}
