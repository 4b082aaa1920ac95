"""An S3-protocol server for tests: moto's server mode as a separate process on loopback."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from services.common.settings import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def moto_s3_server(start_timeout_s: float = 30.0, port: int = 0) -> Iterator[str]:
    """Start `python -m moto.server` on a loopback port (a free one unless given), wait until it
    answers, and yield its endpoint as `host:port` (the form `Settings.s3_endpoint` takes); stop
    it afterwards."""
    port = port or free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + start_timeout_s
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def s3_settings(endpoint: str, data_dir: Path, bucket: str) -> Settings:
    """Settings for an S3Store on the moto server at `endpoint`, in its own bucket."""
    return Settings(
        data_dir=data_dir,
        storage_backend="s3",
        s3_endpoint=endpoint,
        s3_access_key="test",
        s3_secret_key="testtest",
        s3_bucket=bucket,
        s3_region="us-east-1",
    )
