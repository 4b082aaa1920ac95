"""Expected failures, each mapped to the gRPC status a caller can act on."""

from __future__ import annotations

import grpc


class LumiereError(Exception):
    """Base for expected failures; `code` is the gRPC status to report."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL


class InvalidInput(LumiereError):
    """The request or one of its artifacts is unusable (bad audio, bad image, bad range)."""

    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(LumiereError):
    code = grpc.StatusCode.NOT_FOUND


class FailedPrecondition(LumiereError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class AlreadyExists(LumiereError):
    code = grpc.StatusCode.ALREADY_EXISTS
