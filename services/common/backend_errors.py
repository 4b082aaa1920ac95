"""Failures of the generative services a stage calls (image APIs, ComfyUI, video APIs).

Each kind maps to the gRPC status that makes the orchestrator do the right thing: retry later
(UNAVAILABLE: the service is down or overloaded), or stop with a message a person can act on
(a wrong key, an exhausted quota, a prompt the provider refuses). Shared by the seeder
(keyframes) and the animator (shots), which must not import each other.
"""

from __future__ import annotations

import grpc

from services.common.errors import LumiereError


class BackendFailed(LumiereError):
    """The service refused the request or answered nonsense (not worth retrying)."""

    code = grpc.StatusCode.FAILED_PRECONDITION


class BackendUnavailable(LumiereError):
    """The service stayed unreachable or overloaded through every retry."""

    code = grpc.StatusCode.UNAVAILABLE


class BackendAuthFailed(BackendFailed):
    """HTTP 401/403: the deployment's API key (or its account) is not accepted. Stays
    FAILED_PRECONDITION: the key is the operator's, not the caller's (no 403 for them)."""


class BackendQuotaExceeded(BackendFailed):
    """The account's quota or credit is used up (429 without Retry-After, insufficient_quota):
    retrying cannot help until a person acts. RESOURCE_EXHAUSTED is retryable for the
    orchestrator's policy, so this stays FAILED_PRECONDITION."""


class ContentRejected(BackendFailed):
    """The provider's content policy refused the prompt or the image."""

    code = grpc.StatusCode.INVALID_ARGUMENT
