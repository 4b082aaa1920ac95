"""The gateway against hostile clients (issue 14, defects 5-7), served by uvicorn as in
production (`gateway.serving`): body size limits, auth before the body, 422s that do not echo
the input, rate-limited key guessing, and slow clients cut off."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from prometheus_client import CONTENT_TYPE_LATEST

from gateway.config import GatewaySettings
from services.common import contract
from services.devstack.processes import free_port
from tests.support.live_gateway import LiveGateway, live_gateway_with_fake, wav_bytes

pytestmark = pytest.mark.integration
API = "/api/v1"


def _gateway(tmp_path: Path, **gw: object) -> Iterator[LiveGateway]:
    settings = GatewaySettings(health_check_stages=False, **gw)  # type: ignore[arg-type]
    with live_gateway_with_fake(tmp_path, gateway_settings=settings) as live:
        yield live


@pytest.fixture
def open_gw(tmp_path: Path) -> Iterator[LiveGateway]:
    yield from _gateway(tmp_path, max_json_kb=64, body_grace_s=1.0, header_timeout_s=1.0)


@pytest.fixture
def keyed_gw(tmp_path: Path) -> Iterator[LiveGateway]:
    yield from _gateway(tmp_path, api_keys="alpha-key", auth_failure_burst=5)


def _project(live: LiveGateway, headers: dict[str, str] | None = None) -> str:
    resp = httpx.post(
        f"{live.url}{API}/projects",
        data={"prompt": "ocean at dawn"},
        files={"audio": ("song.wav", wav_bytes(), "audio/wav")},
        headers=headers,
    )
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def _raw(url: str) -> socket.socket:
    parts = urlsplit(url)
    return socket.create_connection((parts.hostname, parts.port), timeout=10)


def _closed_within(sock: socket.socket, seconds: float) -> tuple[bool, bytes]:
    """Whether the server closes the connection within `seconds`; what it sent before."""
    sock.settimeout(seconds)
    got = b""
    try:
        while chunk := sock.recv(65536):
            got += chunk
    except TimeoutError:
        return False, got
    except ConnectionResetError:
        pass
    return True, got


def test_an_oversized_json_body_is_413_before_it_is_read(open_gw: LiveGateway) -> None:
    pid = _project(open_gw)
    body = json.dumps({"prompt": "x" * (200 << 10)})
    resp = httpx.post(
        f"{open_gw.url}{API}/projects/{pid}/segments/0/regenerate",
        content=body,
        headers={"content-type": "application/json"},
    )
    assert resp.status_code == 413 and "64 KiB" in resp.json()["detail"]


def test_an_oversized_chunked_json_body_is_413(open_gw: LiveGateway) -> None:
    pid = _project(open_gw)

    def chunks() -> Iterator[bytes]:
        yield b'{"prompt": "'
        for _ in range(100):
            yield b"y" * 4096
        yield b'"}'

    resp = httpx.post(
        f"{open_gw.url}{API}/projects/{pid}/segments/0/regenerate",
        content=chunks(),
        headers={"content-type": "application/json"},
    )
    assert resp.status_code == 413


def test_a_422_does_not_echo_the_input(open_gw: LiveGateway) -> None:
    pid = _project(open_gw)
    huge = "z" * 50_000
    resp = httpx.post(
        f"{open_gw.url}{API}/projects/{pid}/segments/0/regenerate", json={"prompt": huge}
    )
    assert resp.status_code == 422
    assert len(resp.content) < 2_000 and huge[:500] not in resp.text
    assert resp.json()["detail"][0]["loc"][-1] == "prompt"


def test_without_a_key_the_body_is_not_read(keyed_gw: LiveGateway) -> None:
    # Announce a body, send none of it: the 401 must come anyway (FastAPI reads a JSON body
    # before it resolves the route's dependencies, the key check among them).
    sock = _raw(keyed_gw.url)
    path = f"{API}/projects/{contract.new_project_id()}/segments/0/regenerate"
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 60000\r\n\r\n".encode()
    )
    sock.settimeout(5)
    head = sock.recv(4096)
    sock.close()
    assert head.startswith(b"HTTP/1.1 401")


def test_wrong_keys_are_rate_limited(keyed_gw: LiveGateway) -> None:
    codes = [
        httpx.get(f"{keyed_gw.url}{API}/projects", headers={"X-API-Key": f"guess-{n}"}).status_code
        for n in range(12)
    ]
    assert codes[:5] == [401] * 5
    assert codes[-1] == 429
    # The right key still works (it has its own bucket).
    ok = httpx.get(f"{keyed_gw.url}{API}/projects", headers={"X-API-Key": "alpha-key"})
    assert ok.status_code == 200


def test_headers_sent_slowly_are_cut_off(open_gw: LiveGateway) -> None:
    sock = _raw(open_gw.url)
    started = time.monotonic()
    sock.sendall(b"GET /health HTTP/1.1\r\n")
    for _ in range(3):
        try:
            sock.sendall(b"X-Slow: 1\r\n")
        except OSError:
            break
        time.sleep(0.5)
    closed, _ = _closed_within(sock, 5)
    sock.close()
    assert closed and time.monotonic() - started < 6


@pytest.mark.parametrize("form", [False, True])
def test_a_body_sent_slowly_is_408(open_gw: LiveGateway, form: bool) -> None:
    if form:  # the create form, which the gateway parses as it streams in
        path, kind, first = f"{API}/projects", "multipart/form-data; boundary=b", "--b\r\n"
    else:
        path = f"{API}/projects/{_project(open_gw)}/segments/0/regenerate"
        kind, first = "application/json", "{"
    sock = _raw(open_gw.url)
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: x\r\n"
        f"Content-Type: {kind}\r\nContent-Length: 1000\r\n\r\n{first}".encode()
    )
    started = time.monotonic()
    for _ in range(4):
        time.sleep(0.5)
        try:
            sock.sendall(b"x")  # valid where it lands (a JSON string, a part header name)
        except OSError:
            break
    closed, got = _closed_within(sock, 5)
    sock.close()
    assert got.startswith(b"HTTP/1.1 408") and closed
    assert time.monotonic() - started < 6


def test_metrics_need_the_key_when_keys_are_on(keyed_gw: LiveGateway) -> None:
    # Issue 14, defect 8: /metrics was open with API keys on.
    assert httpx.get(f"{keyed_gw.url}/metrics").status_code == 401
    ok = httpx.get(f"{keyed_gw.url}/metrics", headers={"X-API-Key": "alpha-key"})
    assert ok.status_code == 200 and ok.headers["content-type"].startswith("text/plain")


def test_metrics_can_have_their_own_port(tmp_path: Path) -> None:
    port = free_port()
    for live in _gateway(tmp_path, api_keys="alpha-key", metrics_port=port):
        assert (
            httpx.get(f"{live.url}/metrics", headers={"X-API-Key": "alpha-key"}).status_code == 404
        )
        scraped = httpx.get(f"http://127.0.0.1:{port}/metrics")
        assert scraped.status_code == 200 and "lumiere_gateway_requests" in scraped.text


def test_the_schema_documents_errors_and_metrics(open_gw: LiveGateway) -> None:
    spec = httpx.get(f"{open_gw.url}/openapi.json").json()
    get = spec["paths"]["/api/v1/projects/{project_id}"]["get"]
    assert {"400", "404"} <= set(get["responses"])
    process = spec["paths"]["/api/v1/projects/{project_id}/process"]["post"]
    assert "409" in process["responses"]
    assert get["parameters"][0]["schema"]["pattern"] == contract.PROJECT_ID_PATTERN
    metrics = spec["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert list(metrics) == [CONTENT_TYPE_LATEST] and CONTENT_TYPE_LATEST.startswith("text/plain")
