"""The gateway as a real HTTP server (uvicorn): streaming limits, memory, SSE client departure.

Behaviour that an in-process test client cannot show: an oversized upload is refused before
its body is read, a large valid upload never sits whole in memory, and a browser that closes
its event stream ends the gRPC watch behind it.
"""

from __future__ import annotations

import io
import socket
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import numpy as np
import pytest
import soundfile as sf

from tests.support.live_gateway import LiveGateway, live_gateway_with_fake

pytestmark = pytest.mark.integration


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveGateway]:
    with live_gateway_with_fake(tmp_path / "data", step_s=0.3, max_upload_mb=64) as running:
        yield running


def _uploads(live: LiveGateway) -> list[Path]:
    root = live.store.root / "uploads"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_declared_oversize_body_is_refused_before_it_is_sent(live: LiveGateway) -> None:
    url = urlparse(live.url)
    with socket.create_connection((url.hostname, url.port), timeout=5) as sock:
        sock.sendall(
            b"POST /api/v1/projects HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: multipart/form-data; boundary=b\r\n"
            + f"Content-Length: {300 << 20}\r\n\r\n".encode()
        )
        raw = b""
        while chunk := sock.recv(4096):  # no body byte was sent; the server closes after
            raw += chunk
    reply = raw.decode()
    assert reply.startswith("HTTP/1.1 413"), reply[:200]
    assert "limit" in reply


def test_streamed_oversize_body_stops_early(live: LiveGateway) -> None:
    sent = 0

    def body() -> Iterator[bytes]:
        nonlocal sent
        head = (
            b'--b\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nx\r\n'
            b'--b\r\nContent-Disposition: form-data; name="audio"; filename="a.wav"\r\n'
            b"Content-Type: audio/wav\r\n\r\n"
        )
        yield head
        chunk = b"\0" * (1 << 20)
        for _ in range(300):  # 300 MiB, no Content-Length (chunked)
            sent += len(chunk)
            yield chunk

    try:
        resp = httpx.post(
            live.url + "/api/v1/projects",
            content=body(),
            headers={"content-type": "multipart/form-data; boundary=b"},
            timeout=30,
        )
        assert resp.status_code == 413
    except httpx.TransportError:
        pass  # the server answered and closed while we were still sending: also fine
    print(f"sent {sent >> 20} MiB")
    assert sent < 120 << 20, f"the server read {sent >> 20} MiB of a 64 MiB-limited upload"
    assert _uploads(live) == []


def test_large_upload_is_never_held_in_memory(live: LiveGateway, tmp_path: Path) -> None:
    song = tmp_path / "long.wav"
    sr = 44100
    seconds = 360  # 6 minutes of 16-bit mono: ~32 MB
    t = np.arange(sr * seconds) / sr
    sf.write(song, (0.2 * np.sin(2 * np.pi * 110 * t)).astype(np.float32), sr, subtype="PCM_16")
    size = song.stat().st_size
    assert size > 30 << 20
    del t
    tracemalloc.start()
    try:
        with song.open("rb") as fh:
            resp = httpx.post(
                live.url + "/api/v1/projects",
                data={"prompt": "a long song"},
                files={"audio": ("long.wav", fh, "audio/wav")},
                timeout=60,
            )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert resp.status_code == 201, resp.text
    assert resp.json()["audio"]["duration_seconds"] == pytest.approx(seconds, abs=0.1)
    stored = live.store.root / "uploads" / resp.json()["id"] / "audio.wav"
    assert stored.stat().st_size == size
    # Client and server together peaked far below the file size.
    print(f"peak {peak / 2**20:.1f} MiB of {size / 2**20:.1f}")
    assert peak < size / 4, f"peak {peak >> 20} MiB for a {size >> 20} MiB upload"


def _wait(predicate, timeout: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _create(client: httpx.Client) -> str:
    out = io.BytesIO()
    t = np.arange(22050) / 22050
    sf.write(out, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 22050, format="WAV")
    resp = client.post(
        "/api/v1/projects",
        data={"prompt": "p"},
        files={"audio": ("a.wav", out.getvalue(), "audio/wav")},
    )
    return str(resp.json()["id"])


def test_event_streams_share_one_watch_and_clean_up(live: LiveGateway) -> None:
    follower = live.app.state.follower
    with httpx.Client(base_url=live.url, timeout=10) as client:
        # A project nobody runs: watched while someone listens, released when they leave.
        idle = _create(client)
        with client.stream("GET", f"/api/v1/projects/{idle}/events") as stream:
            assert next(stream.iter_lines()).startswith("retry:")
            assert _wait(lambda: live.fake.watchers == 1)
        assert _wait(lambda: live.fake.watchers == 0)
        assert follower.subscribers(idle) == 0

        # A running project: three browsers, one WatchProject call behind them.
        pid = _create(client)
        client.post(f"/api/v1/projects/{pid}/process")
        with (
            client.stream("GET", f"/api/v1/projects/{pid}/events") as a,
            client.stream("GET", f"/api/v1/projects/{pid}/events") as b,
        ):
            with client.stream("GET", f"/api/v1/projects/{pid}/events") as c:
                assert follower.subscribers(pid) == 3
                assert _wait(lambda: live.fake.watchers >= 1)
                time.sleep(0.2)
                assert live.fake.watchers == 1  # shared, not one per client
                lines = c.iter_lines()
                assert next(lines).startswith("retry:")
            # One left mid-run; the others still get everything to the end.
            assert _wait(lambda: follower.subscribers(pid) == 2)
            text_a = a.read().decode()
            text_b = b.read().decode()
        for text in (text_a, text_b):
            assert "event: state" in text
            assert text.rstrip().endswith('data: {"status":"completed"}')
        assert _wait(lambda: live.fake.watchers == 0)
        assert follower.subscribers(pid) == 0
