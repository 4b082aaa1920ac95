"""The web pages in a real browser (Playwright driving Debian's Chromium): the upload page with
live progress and playback in front of the fake orchestrator, and the timeline page on a real
stack — live progress, the lanes, play and seek, edit a shot and regenerate it."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import soundfile as sf
from PIL import Image
from playwright.sync_api import Page

from gateway.storyboards import ENUM_FIELDS
from services.common import stages
from tests.support.browser import SCREENSHOT_DIR, chromium, needs_chromium
from tests.support.live_gateway import live_gateway_with_fake

pytestmark = pytest.mark.integration

PAGE_FILES = (
    "/",
    "/static/lumiere.js",
    "/static/app.js",
    "/static/timeline.html",
    "/static/timeline.js",
)


@pytest.fixture
def live_gateway(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    with live_gateway_with_fake(tmp_path / "data", step_s=0.4) as live:
        yield live.url, live.app


def js(page: Page, expression: str) -> Any:
    return page.evaluate(expression)


@needs_chromium
def test_page_uploads_shows_progress_and_plays_the_video(
    live_gateway: tuple[str, Any], tmp_path: Path
) -> None:
    base, app = live_gateway
    song = tmp_path / "song.wav"
    t = np.arange(22050 * 2) / 22050
    sf.write(song, (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32), 22050)
    face = tmp_path / "face.png"
    Image.new("RGB", (64, 64), (200, 120, 40)).save(face)

    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(base + "/")
        page.wait_for_function("document.getElementById('health').textContent !== '…'")
        assert page.text_content("#health") == "all services up"
        page.wait_for_selector("#no-projects", state="visible")  # an empty list first
        # The stage list comes from the server's pipeline table.
        labels = page.locator("#stages li").all_text_contents()
        assert labels == [spec.label for spec in stages.PIPELINE]

        page.set_input_files("#audio", song)
        page.set_input_files("#images", face)
        page.fill("#prompt", "a lighthouse in a storm")
        page.click("#submit")

        # Live progress arrives over SSE: the page passes through intermediate states.
        seen = set()
        deadline = time.monotonic() + 30
        status = ""
        while time.monotonic() < deadline and status != "completed":
            status = (page.text_content("#project-status") or "").replace(" ", "_")
            if status == "seeds_generated" and status not in seen:
                page.screenshot(path=SCREENSHOT_DIR / "lumiere-page-progress.png")
            seen.add(status)
            time.sleep(0.05)
        assert status == "completed", f"page stuck at {status!r}; saw {seen}"
        assert seen & {"processing", "concept_generated", "seeds_generated"}, seen

        # Keyframes render as images, the player loads the MP4 and can seek (Range requests).
        page.wait_for_function(
            "[...document.querySelectorAll('#keyframes img')].filter(i => i.naturalWidth > 0)"
            ".length === 3"
        )
        page.wait_for_function("document.getElementById('player').readyState >= 1")
        assert abs(js(page, "document.getElementById('player').duration") - 3.0) < 0.2
        seeked = js(
            page,
            "new Promise(r => { const v = document.getElementById('player');"
            " v.addEventListener('seeked', () => r(v.currentTime), {once: true});"
            " v.currentTime = 2.0; setTimeout(() => r(-1), 10000); })",
        )
        assert abs(seeked - 2.0) < 0.2
        played = js(
            page,
            "new Promise(r => { const v = document.getElementById('player'); v.currentTime = 0;"
            " v.play().then(() => setTimeout(() => r(v.currentTime), 700), e => r(String(e))); })",
        )
        assert isinstance(played, float) and played > 0.2, played

        # The list shows the project, with a link to its timeline.
        row = page.locator("#projects tbody tr")
        page.wait_for_function(
            "document.querySelectorAll('#projects tbody tr').length === 1"
            " && document.querySelector('#projects tbody tr .pill').textContent === 'completed'"
        )
        pid = row.get_attribute("data-id")
        assert row.locator("a", has_text="timeline").get_attribute("href") == f"/projects/{pid}"
        shot = tmp_path / "page.png"
        page.screenshot(path=shot, full_page=True)
        shutil.copy(shot, SCREENSHOT_DIR / "lumiere-page.png")
        with Image.open(shot) as img:
            assert img.width >= 1000
            # Not a blank page: the dark theme plus content gives many distinct colours.
            assert len(img.convert("RGB").getcolors(1 << 20) or []) > 50

        # Delete from the list (confirm() answered yes): the row and the card go away.
        page.on("dialog", lambda dialog: dialog.accept())
        page.click("#projects tbody tr .danger")
        page.wait_for_function(
            "document.querySelectorAll('#projects tbody tr').length === 0"
            " && document.getElementById('project-card').hidden"
        )

    # The browser fetched the video with byte ranges (206), as media elements do to seek.
    text = app.state.metrics.registry.get_sample_value(
        "lumiere_gateway_requests_total",
        {"method": "GET", "route": "/api/v1/projects/{project_id}/video", "status": "206"},
    )
    assert text and text >= 1


def test_page_is_self_contained(live_gateway: tuple[str, Any]) -> None:
    """No CDN or other external resource: the machine (and many deployments) are offline."""
    base, _ = live_gateway
    for path in (*PAGE_FILES, "/static/style.css", "/static/timeline.css", "/projects/x"):
        resp = httpx.get(base + path)
        assert resp.status_code == 200, path
        assert "http://" not in resp.text and "https://" not in resp.text, path
    docs = httpx.get(base + "/docs").text
    assert "/static/vendor/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
        assert httpx.get(f"{base}/static/vendor/{asset}").status_code == 200
    html = httpx.get(base + "/").text
    for element_id in ("audio", "prompt", "images", "player", "projects"):
        assert f'id="{element_id}"' in html
    timeline = httpx.get(base + "/projects/x").text
    for element_id in ("tl-player", "tl-wave", "tl-shots", "tl-sections", "tl-lyrics"):
        assert f'id="{element_id}"' in timeline


def _page_text(base: str) -> str:
    return "".join(httpx.get(base + path).text for path in PAGE_FILES)


def test_page_does_not_restate_the_pipeline(live_gateway: tuple[str, Any]) -> None:
    """The pages read stages and states from /api/v1/pipeline instead of listing them."""
    base, _ = live_gateway
    page = _page_text(base)
    assert "/pipeline" in page
    for spec in stages.PIPELINE:
        for word in (stages.state_name(spec.reaches), spec.name):
            assert f'"{word}"' not in page and f"'{word}'" not in page, word
        assert spec.label not in page, spec.label
    for state in stages.TERMINAL_STATES | stages.ACTIVE_STATES:
        word = stages.state_name(state)
        assert f'"{word}"' not in page and f"'{word}'" not in page, word


def test_page_does_not_restate_the_shot_vocabulary(live_gateway: tuple[str, Any]) -> None:
    """Framing, move and entry names and shot states come from the API, never from the pages."""
    from gateway.timeline import SHOT_STATES

    base, _ = live_gateway
    page = _page_text(base)
    assert "links.storyboard" in page and 'id="shots"' in page and "shot_states" in page
    for names in ENUM_FIELDS.values():
        for name in names:
            assert f'"{name}"' not in page and f"'{name}'" not in page, name
    timeline = httpx.get(base + "/static/timeline.js").text
    for name in SHOT_STATES:
        assert f'"{name}"' not in timeline and f"'{name}'" not in timeline, name


@needs_chromium
def test_api_docs_render_offline(live_gateway: tuple[str, Any], tmp_path: Path) -> None:
    base, _ = live_gateway
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(base + "/docs")
        # Swagger UI (served locally) renders one block per operation from /openapi.json.
        page.wait_for_function("document.querySelectorAll('.opblock').length >= 15")
        assert "/api/v1/projects/{project_id}/events" in page.inner_text("body")
        page.screenshot(path=SCREENSHOT_DIR / "lumiere-docs.png")
