"""The web page in a real browser: upload, live progress over SSE, playback and seeking.

Headless Chromium is driven over the DevTools protocol through `--remote-debugging-pipe`
(NUL-separated JSON on fds 3/4), so the test needs no WebSocket library and no Node. The
gateway runs under uvicorn in a thread in front of the fake orchestrator on a real gRPC port.
Skips when chromium is not installed (`apt-get install -y chromium`).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from gateway.storyboards import ENUM_FIELDS
from services.common import stages
from tests.support.live_gateway import live_gateway_with_fake
from tests.support.pictures import person_png

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Where a copy of the last screenshot goes, for people to look at.
SCREENSHOT_COPY = Path(os.environ.get("LUMIERE_SCREENSHOT_DIR", tempfile.gettempdir()))


class Browser:
    """Minimal Chrome DevTools Protocol client over --remote-debugging-pipe."""

    def __init__(self, binary: str, profile: Path) -> None:
        to_child_r, self._to_child_w = os.pipe()
        self._from_child_r, from_child_w = os.pipe()

        flags = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--autoplay-policy=no-user-gesture-required",
            "--mute-audio",
            "--window-size=1280,1000",
            f"--user-data-dir={profile}",
            "--remote-debugging-pipe",
            "about:blank",
        ]
        # The pipe protocol reads commands on fd 3 and writes replies on fd 4; a bash `exec`
        # with redirections puts our pipe ends exactly there (dash takes one-digit fds only).
        self.proc = subprocess.Popen(
            [
                "/bin/bash",
                "-c",
                f'exec "$0" "$@" 3<&{to_child_r} 4>&{from_child_w}',
                binary,
                *flags,
            ],
            pass_fds=(to_child_r, from_child_w),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._buf = b""
        self._id = 0
        self.session = ""
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        self.call("Page.enable")
        self.call("Runtime.enable")

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_child_r], [], [], left)[0]:
                raise TimeoutError("no answer from chromium")
            chunk = os.read(self._from_child_r, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)  # type: ignore[no-any-return]

    def call(self, method: str, timeout: float = 30.0, **params: Any) -> dict[str, Any]:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params}
        if self.session and not method.startswith("Target."):
            msg["sessionId"] = self.session
        os.write(self._to_child_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})  # type: ignore[no-any-return]

    def js(self, expression: str, timeout: float = 30.0) -> Any:
        result = self.call(
            "Runtime.evaluate",
            timeout=timeout,
            expression=expression,
            awaitPromise=True,
            returnByValue=True,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"JS error: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.js(expression)
            if value:
                return value
            time.sleep(0.1)
        raise TimeoutError(f"timed out waiting for {expression}")

    def set_files(self, selector: str, paths: list[Path]) -> None:
        root = self.call("DOM.getDocument")["root"]["nodeId"]
        node = self.call("DOM.querySelector", nodeId=root, selector=selector)["nodeId"]
        self.call("DOM.setFileInputFiles", nodeId=node, files=[str(p) for p in paths])

    def screenshot(self, path: Path) -> None:
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.write_bytes(base64.b64decode(data["data"]))

    def close(self) -> None:
        with contextlib.suppress(Exception):  # shutting down anyway
            self.call("Browser.close", timeout=5)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_child_w)
        os.close(self._from_child_r)


@pytest.fixture
def live_gateway(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    with live_gateway_with_fake(tmp_path / "data", step_s=0.4) as live:
        yield live.url, live.app


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_page_uploads_shows_progress_and_plays_the_video(
    live_gateway: tuple[str, Any], tmp_path: Path
) -> None:
    base, app = live_gateway
    song = tmp_path / "song.wav"
    t = np.arange(22050 * 2) / 22050
    sf.write(song, (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32), 22050)
    face = tmp_path / "face.png"
    face.write_bytes(person_png())  # a figure the seeder can cut out (checked at upload)

    browser = Browser(str(CHROMIUM), tmp_path / "profile")
    try:
        browser.call("Page.navigate", url=base + "/")
        browser.wait_for("document.readyState === 'complete'")
        assert browser.wait_for("document.getElementById('health').textContent") in (
            "all services up",
            "…",
        )
        # An empty list first.
        browser.wait_for("!document.getElementById('no-projects').hidden")
        # The stage list comes from the server's pipeline table.
        labels = browser.js(
            "[...document.querySelectorAll('#stages li')].map(li => li.textContent)"
        )
        assert labels == [spec.label for spec in stages.PIPELINE]

        browser.set_files("#audio", [song])
        browser.set_files("#images", [face])
        browser.js("document.getElementById('prompt').value = 'a lighthouse in a storm'")
        browser.js("document.getElementById('create-form').requestSubmit()")

        # Live progress arrives over SSE: the page passes through intermediate states.
        seen = set()
        deadline = time.monotonic() + 30
        status = ""
        while time.monotonic() < deadline and status != "completed":
            status = browser.js("document.getElementById('project-status').textContent")
            status = status.replace(" ", "_")
            if status == "seeds_generated" and status not in seen:
                browser.screenshot(SCREENSHOT_COPY / "lumiere-page-progress.png")
            seen.add(status)
            time.sleep(0.05)
        assert status == "completed", f"page stuck at {status!r}; saw {seen}"
        assert seen & {"processing", "concept_generated", "seeds_generated"}, seen

        # Keyframes render as images, the player loads the MP4 and can seek (Range requests).
        assert browser.wait_for(
            "[...document.querySelectorAll('#keyframes img')].filter(i => i.naturalWidth > 0)"
            ".length === 3"
        )
        duration = browser.wait_for(
            "(() => { const v = document.getElementById('player');"
            " return v.readyState >= 1 && !v.hidden ? v.duration : 0; })()"
        )
        assert abs(duration - 3.0) < 0.2
        seeked = browser.js(
            "new Promise(r => { const v = document.getElementById('player');"
            " v.addEventListener('seeked', () => r(v.currentTime), {once: true});"
            " v.currentTime = 2.0; setTimeout(() => r(-1), 10000); })",
            timeout=15,
        )
        assert abs(seeked - 2.0) < 0.2
        played = browser.js(
            "new Promise(r => { const v = document.getElementById('player'); v.currentTime = 0;"
            " v.play().then(() => setTimeout(() => r(v.currentTime), 700), e => r(String(e))); })",
            timeout=15,
        )
        assert isinstance(played, float) and played > 0.2, played

        # The list shows the project.
        assert browser.wait_for(
            "document.querySelectorAll('#projects tbody tr').length === 1"
            " && document.querySelector('#projects tbody tr .pill').textContent === 'completed'"
        )
        shot = tmp_path / "page.png"
        browser.screenshot(shot)
        shutil.copy(shot, SCREENSHOT_COPY / "lumiere-page.png")
        with Image.open(shot) as img:
            assert img.width >= 1000
            # Not a blank page: the dark theme plus content gives many distinct colours.
            assert len(img.convert("RGB").getcolors(1 << 20) or []) > 50

        # Delete from the list (confirm() answered yes): the row and the card go away.
        browser.js("window.confirm = () => true")
        browser.js("document.querySelector('#projects tbody tr .danger').click()")
        assert browser.wait_for(
            "document.querySelectorAll('#projects tbody tr').length === 0"
            " && document.getElementById('project-card').hidden"
        )
    finally:
        browser.close()

    # The browser fetched the video with byte ranges (206), as media elements do to seek.
    text = app.state.metrics.registry.get_sample_value(
        "lumiere_gateway_requests_total",
        {"method": "GET", "route": "/api/v1/projects/{project_id}/video", "status": "206"},
    )
    assert text and text >= 1


def test_page_is_self_contained(live_gateway: tuple[str, Any]) -> None:
    """No CDN or other external resource: the machine (and many deployments) are offline."""
    import httpx

    base, _ = live_gateway
    for path in ("/", "/static/app.js", "/static/style.css"):
        resp = httpx.get(base + path)
        assert resp.status_code == 200
        assert "http://" not in resp.text and "https://" not in resp.text, path
    docs = httpx.get(base + "/docs").text
    assert "/static/vendor/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
        assert httpx.get(f"{base}/static/vendor/{asset}").status_code == 200
    html = httpx.get(base + "/").text
    for element_id in ("audio", "prompt", "images", "player", "projects"):
        assert f'id="{element_id}"' in html


def test_page_does_not_restate_the_pipeline(live_gateway: tuple[str, Any]) -> None:
    """The page reads stages and states from /api/v1/pipeline instead of listing them."""
    import httpx

    base, _ = live_gateway
    page = httpx.get(base + "/static/app.js").text + httpx.get(base + "/").text
    assert "/pipeline" in page
    for spec in stages.PIPELINE:
        for word in (stages.state_name(spec.reaches), spec.name):
            assert f'"{word}"' not in page and f"'{word}'" not in page, word
        assert spec.label not in page, spec.label


def test_page_does_not_restate_the_shot_vocabulary(live_gateway: tuple[str, Any]) -> None:
    """Framing, move and entry names come from GET .../storyboard, never from the page."""
    import httpx

    base, _ = live_gateway
    page = httpx.get(base + "/static/app.js").text + httpx.get(base + "/").text
    assert "links.storyboard" in page and 'id="shots"' in page
    for names in ENUM_FIELDS.values():
        for name in names:
            assert f'"{name}"' not in page and f"'{name}'" not in page, name


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_api_docs_render_offline(live_gateway: tuple[str, Any], tmp_path: Path) -> None:
    base, _ = live_gateway
    browser = Browser(str(CHROMIUM), tmp_path / "profile")
    try:
        browser.call("Page.navigate", url=base + "/docs")
        # Swagger UI (served locally) renders one block per operation from /openapi.json.
        count = browser.wait_for("document.querySelectorAll('.opblock').length", timeout=30)
        assert count >= 15
        assert "/api/v1/projects/{project_id}/events" in browser.js("document.body.innerText")
        browser.screenshot(tmp_path / "docs.png")
        shutil.copy(tmp_path / "docs.png", SCREENSHOT_COPY / "lumiere-docs.png")
    finally:
        browser.close()
