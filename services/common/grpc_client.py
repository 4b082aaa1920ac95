"""Channels to other services: message limits, keepalive, and which calls the channel retries.

Retry layers, one per call, decided here so that no call is retried by two policies:

- Stage calls (orchestrator -> Concept/Seeder/Animator, all server-streaming): the channel has
  NO retry policy. The orchestrator's one stage retry policy decides (codes, backoff, attempts,
  and another animator replica on the next attempt); a channel policy under it would multiply
  the attempts and retry on the same replica. What gRPC still does by itself are transparent
  retries: a call that never left this client or was refused before any server code saw it is
  re-sent, which is always safe and is not a policy.
- Control calls (gateway -> OrchestratorService, mostly unary): nobody above the channel
  retries them, so the channel retries UNAVAILABLE (an orchestrator restarting or a replica
  going away) a few times with backoff. gRPC commits a call at its first response, so a
  WatchProject stream is never replayed once events flowed.
- The seeder's outbound HTTP to image APIs is retried by tenacity only (seeder/backends/http.py).

Deadlines are set per call by the caller.
"""

from __future__ import annotations

import json

import grpc
from lumiere.v1 import orchestrator_pb2

from services.common.grpc_server import MAX_MESSAGE_BYTES

ORCHESTRATOR_SERVICE = orchestrator_pb2.DESCRIPTOR.services_by_name["OrchestratorService"].full_name

_SERVICE_CONFIG = json.dumps(
    {
        "methodConfig": [
            {
                "name": [{"service": ORCHESTRATOR_SERVICE}],
                "retryPolicy": {
                    "maxAttempts": 4,
                    "initialBackoff": "0.2s",
                    "maxBackoff": "2s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ],
        "loadBalancingConfig": [{"round_robin": {}}],
    }
)

CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    # Needed for the control-call policy above and for transparent retries.
    ("grpc.enable_retries", 1),
    ("grpc.service_config", _SERVICE_CONFIG),
    ("grpc.keepalive_time_ms", 30_000),
    # A restarted server is found again within ~2 s (gRPC's default backoff grows to 120 s,
    # so a stage back after a 30 s outage could otherwise stay unused for a minute).
    ("grpc.initial_reconnect_backoff_ms", 250),
    ("grpc.max_reconnect_backoff_ms", 2_000),
]


def aio_channel(target: str) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS)


def sync_channel(target: str) -> grpc.Channel:
    return grpc.insecure_channel(target, options=CHANNEL_OPTIONS)
