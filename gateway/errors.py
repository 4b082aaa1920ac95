"""Errors -> HTTP responses: one table by exception type, one by gRPC status code.

Handlers raise the shared `services.common.errors` types (or the gateway's upload errors); calls
to the orchestrator raise `grpc.aio.AioRpcError`. Both become `{"detail": message}` with the
status from these tables, looked up by type (a subclass inherits its base's status unless it has
its own row), never by class name.
"""

from __future__ import annotations

import logging

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from gateway.uploads import MissingField, RequestTooLarge, UnsupportedMediaType
from services.common.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidInput,
    LumiereError,
    NotFound,
)
from services.common.storage import UploadTooLarge

log = logging.getLogger(__name__)

# Expected failures by type; the most specific class in an exception's MRO wins.
HTTP_STATUS_BY_TYPE: dict[type[BaseException], int] = {
    LumiereError: 400,
    InvalidInput: 400,
    MissingField: 422,
    NotFound: 404,
    FailedPrecondition: 409,
    AlreadyExists: 409,
    RequestTooLarge: 413,
    UploadTooLarge: 413,
    UnsupportedMediaType: 415,
}

# Orchestrator answers by gRPC status; a code not listed is a bad gateway (502).
HTTP_STATUS_BY_GRPC: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.CANCELLED: 499,
}


def grpc_http_status(code: grpc.StatusCode) -> int:
    return HTTP_STATUS_BY_GRPC.get(code, 502)


def http_status(exc: BaseException) -> int:
    """The HTTP status of an orchestrator error or an expected failure (500 for anything else)."""
    if isinstance(exc, grpc.aio.AioRpcError):
        return grpc_http_status(exc.code())
    for cls in type(exc).__mro__:
        if cls in HTTP_STATUS_BY_TYPE:
            return HTTP_STATUS_BY_TYPE[cls]
    return 500


def rpc_detail(exc: grpc.aio.AioRpcError) -> str:
    details = exc.details() or ""
    if exc.code() == grpc.StatusCode.UNAVAILABLE:
        return f"the orchestrator is unavailable: {details}".rstrip(": ")
    if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
        return "the orchestrator did not answer in time"
    return details or exc.code().name.lower()


def error_response(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


async def _rpc_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, grpc.aio.AioRpcError)
    status = http_status(exc)
    if status >= 500:
        log.warning(
            "%s %s: orchestrator %s: %s",
            request.method,
            request.url.path,
            exc.code().name,
            exc.details(),
        )
    headers = {"Retry-After": "5"} if status in (429, 503) else None
    return error_response(status, rpc_detail(exc), headers)


async def _expected_error(request: Request, exc: Exception) -> JSONResponse:
    status = http_status(exc)
    # An oversized body is refused mid-stream: close the connection so the server stops
    # receiving the rest (uvicorn would otherwise read and discard it to keep the socket).
    headers = {"Connection": "close"} if status == 413 else None
    return error_response(status, str(exc), headers)


# A validation message quotes at most this much of what was sent.
_MAX_MESSAGE_CHARS = 200


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 shape (`detail`: a list of `loc`/`msg`/`type`), without `input`/`ctx`:
    the default echoes the whole offending value back, megabytes of it for a huge body."""
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "loc": list(err.get("loc", ()))[:8],
            "msg": str(err.get("msg", ""))[:_MAX_MESSAGE_CHARS],
            "type": str(err.get("type", "")),
        }
        for err in exc.errors()[:20]
    ]
    return JSONResponse({"detail": errors}, status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(grpc.aio.AioRpcError, _rpc_error)
    app.add_exception_handler(LumiereError, _expected_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
