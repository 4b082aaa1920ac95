"""Wall-clock time as stored in the database (float seconds) and as sent on the wire."""

from __future__ import annotations

import time

from google.protobuf.timestamp_pb2 import Timestamp


def now() -> float:
    return time.time()


def to_timestamp(seconds: float | None) -> Timestamp:
    """Seconds since the epoch as a Timestamp; unset (zero) for None or 0."""
    ts = Timestamp()
    if seconds:
        ts.FromNanoseconds(int(seconds * 1e9))
    return ts
