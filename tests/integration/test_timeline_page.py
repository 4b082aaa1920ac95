"""The timeline page on a real stack, in a real browser (Playwright, Debian's Chromium): upload
on the main page, open the timeline, watch the run live (states, ETA, per-shot states), check
the lanes, play and seek with the mouse and the keyboard, edit a shot and regenerate it.

`LUMIERE_UPDATE_DOCS=1` also writes the screenshots to docs/timeline/ (desktop and phone)."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from services.devstack.processes import ROOT, LocalStack
from services.devstack.synth import SR, SectionSpec, SongSpec, synth_song, write_audio
from tests.support.browser import SCREENSHOT_DIR, chromium, needs_chromium

pytestmark = [pytest.mark.integration, needs_chromium]

SONG = SongSpec(
    name="timeline",
    bpm=120.0,
    sections=(
        SectionSpec("intro", 2, level=0.3, drums=False),
        SectionSpec("verse", 3, level=0.6),
        SectionSpec("chorus", 3, level=1.0, lead=True),
    ),
    seed=11,
)
LYRICS = (
    "[00:00.50]Neon lights are calling\n[00:04.00]Rain on the window\n"
    "[00:08.00]Dancing through the city\n[00:12.00]Until the morning comes\n"
)
DOCS = ROOT / "docs" / "timeline"
# Records what the page showed between two looks (a run can pass a state in a blink).
RECORDER = """
window.__seen = { status: [], shots: [], eta: [] };
const note = (list, v) => { if (v && !list.includes(v)) list.push(v); };
new MutationObserver(() => {
  const st = document.getElementById('tl-status');
  if (st) note(window.__seen.status, st.textContent);
  for (const b of document.querySelectorAll('.tl-shot-thumb')) note(window.__seen.shots,
    b.dataset.state);
  const eta = document.getElementById('tl-eta');
  if (eta) note(window.__seen.eta, eta.textContent);
}).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with LocalStack(tmp_path_factory.mktemp("stack"), animators=2) as running:
        yield running


def save(page: Page, name: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    shutil.copy(path, SCREENSHOT_DIR / f"lumiere-timeline-{name}.png")
    if os.environ.get("LUMIERE_UPDATE_DOCS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, DOCS / f"{name}.png")


def wait_for_frame(page: Page) -> None:
    """Until the player shows the frame it was seeked to, and has data past it (Chromium shows
    a spinner over the frame until then; a screenshot should not)."""
    page.wait_for_function(
        "(() => { const v = document.getElementById('tl-player');"
        " return !v.seeking && v.readyState >= 2; })()"
    )
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_function("document.getElementById('tl-player').readyState >= 3", timeout=5000)
    page.wait_for_timeout(300)  # the controls fade the spinner out


def player_time(page: Page) -> float:
    return float(page.evaluate("document.getElementById('tl-player').currentTime"))


def playhead_fraction(page: Page) -> float:
    return float(
        page.evaluate(
            "document.getElementById('tl-playhead').offsetLeft"
            " / document.getElementById('tl-inner').clientWidth"
        )
    )


def test_timeline_follows_the_run_plays_seeks_and_regenerates_a_shot(
    stack: LocalStack, tmp_path: Path
) -> None:
    base = stack.gateway_url
    song, lyrics = tmp_path / "song.mp3", tmp_path / "song.lrc"
    samples, _ = synth_song(SONG)
    write_audio(song, samples, SR)
    lyrics.write_text(LYRICS)
    table = httpx.get(f"{base}/api/v1/pipeline").json()
    active = {s.replace("_", " ") for s in table["active_states"]}
    final = table["stages"][-1]["reaches"].replace("_", " ")

    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_init_script(RECORDER)
        page = context.new_page()
        page.goto(base + "/")
        page.set_input_files("#audio", song)
        page.set_input_files("#lyrics", lyrics)
        page.fill("#prompt", "neon city at night, rain, a lone dancer")
        page.click("#create-form summary")
        page.select_option("#size", "854x480")
        page.select_option("#fps", "24")
        page.click("#submit")
        page.click("#timeline-link")
        page.wait_for_url("**/projects/*")
        pid = page.url.rsplit("/", 1)[1]
        saved: set[str] = set()

        # Live: the header passes through the run's states with an ETA, the shots through
        # their states, and everything ends finished.
        states = httpx.get(f"{base}/api/v1/projects/{pid}/timeline").json()["shot_states"]
        rendering = (
            f"document.querySelector('.tl-shot-thumb[data-state=\"{states[1]}\"]') && "
            "[...document.querySelectorAll('.tl-shot-thumb img')].every(i => i.naturalWidth > 0)"
        )
        deadline = time.monotonic() + 240
        while page.text_content("#tl-status") != final and time.monotonic() < deadline:
            if "rendering" not in saved and page.evaluate(f"Boolean({rendering})"):
                save(page, "rendering", tmp_path)  # a picture of the live strip, when caught
                saved.add("rendering")
            time.sleep(0.05)
        timeline = httpx.get(f"{base}/api/v1/projects/{pid}/timeline").json()
        page.wait_for_function(
            "[...document.querySelectorAll('.tl-shot-thumb')].every("
            f"b => b.dataset.state === '{states[2]}')"
        )
        seen: dict[str, list[str]] = page.evaluate("window.__seen")
        assert active & set(seen["status"]), seen
        assert any(text.startswith("ETA") for text in seen["eta"]), seen
        assert states[0] in seen["shots"] and states[2] in seen["shots"], seen
        assert page.text_content("#tl-eta") == ""

        # The lanes: one block per section (named by role), one thumbnail per shot at its
        # time, the lyric lines, and a drawn waveform.
        shots = timeline["shots"]
        assert page.locator(".tl-section").all_text_contents() == [
            s["role"].replace("_", " ") for s in timeline["sections"]
        ]
        thumbs = page.locator(".tl-shot-thumb")
        assert thumbs.count() == len(shots) >= 3
        page.wait_for_function(
            "[...document.querySelectorAll('.tl-shot-thumb img')].every(i => i.naturalWidth > 0)"
        )
        width = page.evaluate("document.getElementById('tl-inner').clientWidth")
        for i in (0, len(shots) - 1):
            left = page.evaluate(f"document.querySelectorAll('.tl-shot-thumb')[{i}].offsetLeft")
            assert abs(left / width - shots[i]["start_time"] / timeline["duration"]) < 0.01
        assert page.locator(".tl-lyric").all_text_contents() == [
            line["text"] for line in timeline["lyrics"]
        ]
        assert len(timeline["lyrics"]) == 4
        drawn = page.evaluate(
            "(() => { const c = document.getElementById('tl-wave-canvas');"
            " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
            " let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;"
            " return n / (d.length / 4); })()"
        )
        assert drawn > 0.1, drawn

        # Seek by clicking the waveform; the playhead follows; arrow keys step one beat.
        page.wait_for_function("document.getElementById('tl-player').readyState >= 1")
        duration = timeline["duration"]
        box = page.locator("#tl-wave").bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_function("!document.getElementById('tl-player').seeking")
        assert abs(player_time(page) - duration / 2) < 0.3
        assert abs(playhead_fraction(page) - 0.5) < 0.02
        before = player_time(page)
        page.focus("#tl-wave")
        page.keyboard.press("ArrowRight")
        page.wait_for_function("!document.getElementById('tl-player').seeking")
        assert abs(player_time(page) - before - 60 / timeline["tempo_bpm"]) < 0.05
        # Space plays: time and playhead move on; the shot under the playhead is marked.
        page.keyboard.press("Home")
        page.keyboard.press(" ")
        page.wait_for_function("document.getElementById('tl-player').currentTime > 1.0")
        page.keyboard.press(" ")
        page.wait_for_function("document.getElementById('tl-player').paused")
        assert abs(playhead_fraction(page) - player_time(page) / duration) < 0.01
        assert page.locator(".tl-shot-thumb.playing").count() == 1

        # A shot opens with its plan (names from the API); a new prompt regenerates it.
        target = shots[1]
        thumbs.nth(1).click()
        assert page.is_visible("#tl-shot")
        assert page.text_content("#tl-shot-title") == "Shot 2"
        assert page.input_value("#tl-shot-prompt") == target["prompt"]
        facts = page.text_content("#tl-shot-facts") or ""
        assert target["framing"].replace("_", " ") in facts
        assert target["move"].replace("_", " ") in facts
        assert abs(player_time(page) - target["start_time"]) < 0.1
        page.focus("#tl-wave")
        page.keyboard.press("ArrowRight")  # into the shot, past its entry
        wait_for_frame(page)
        save(page, "desktop", tmp_path)
        old_src = thumbs.nth(1).locator("img").get_attribute("src")
        new_prompt = "a red umbrella in the rain, close up"
        page.fill("#tl-shot-prompt", new_prompt)
        page.click("#tl-regenerate")
        page.wait_for_function(
            f"document.getElementById('tl-status').textContent === '{final}'"
            " && document.querySelectorAll('.tl-shot-thumb')[1].querySelector('img').src"
            f" !== '{base}{old_src}'",
            timeout=120_000,
        )
        assert page.text_content("#tl-shot-state") == states[2]
        project = httpx.get(f"{base}/api/v1/projects/{pid}").json()
        assert [k["prompt"] for k in project["keyframes"] if k["shot_id"] == target["id"]] == [
            new_prompt
        ]
        assert project["status"] == final.replace(" ", "_")

        # Phone width: the same page, nothing wider than the screen but the scrolling strip.
        phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
        phone.goto(f"{base}/projects/{pid}")
        phone.wait_for_function(
            "[...document.querySelectorAll('.tl-shot-thumb img')].every(i => i.naturalWidth > 0)"
        )
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        phone.wait_for_function("document.getElementById('tl-player').readyState >= 1")
        # Played once, as a person would have: Chromium's loading spinner is gone then.
        phone.evaluate(
            "(async () => { const v = document.getElementById('tl-player'); await v.play();"
            " await new Promise(r => setTimeout(r, 500)); v.pause(); })()"
        )
        phone.locator(".tl-shot-thumb").nth(2).click()
        wait_for_frame(phone)
        save(phone, "phone", tmp_path)


def client_timeline(base: str, pid: str) -> dict[str, Any]:
    return dict(httpx.get(f"{base}/api/v1/projects/{pid}/timeline").json())


def test_timeline_before_the_concept_shows_the_waveform(stack: LocalStack, tmp_path: Path) -> None:
    """A project not yet processed has no shots, but the song's waveform is there to see; its
    preview then plays on the timeline."""
    song = tmp_path / "song.mp3"
    samples, _ = synth_song(SONG)
    write_audio(song, samples, SR)
    with httpx.Client(base_url=stack.gateway_url) as client:
        with song.open("rb") as fh:
            created = client.post(
                "/api/v1/projects", data={"prompt": "x"}, files={"audio": ("s.mp3", fh)}
            ).json()
        pid = created["id"]
        wave: dict[str, Any] = client.get(f"/api/v1/projects/{pid}/waveform?points=64").json()
        assert wave["points"] == 64 and len(wave["peaks"]) == 64
        assert max(wave["peaks"]) == 1.0
        assert abs(wave["duration"] - created["audio"]["duration_seconds"]) < 0.1
        # The intro is quieter than the chorus (levels 0.3 vs 1.0 in the song's spec).
        assert max(wave["peaks"][:8]) < 0.6 * max(wave["peaks"][-16:])
        assert client.get(f"/api/v1/projects/{pid}/waveform?points=0").status_code == 422
        timeline = client.get(f"/api/v1/projects/{pid}/timeline").json()
        assert timeline["shots"] == [] and timeline["duration"] is None
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1000, "height": 800})
        page.goto(f"{stack.gateway_url}/projects/{pid}")
        page.wait_for_function("document.getElementById('tl-process').hidden === false")
        page.wait_for_function(
            "(() => { const c = document.getElementById('tl-wave-canvas');"
            " return c.width > 0 && c.getContext('2d').getImageData(0, 0, c.width, c.height)"
            ".data.some((v, i) => i % 4 === 3 && v > 0); })()"
        )
        assert page.is_visible("#tl-no-video")

        # The preview (animatic) renders from here and plays on the same timeline.
        page.click("#tl-preview")
        page.wait_for_function(
            "document.getElementById('tl-player').src.includes('/preview')", timeout=120_000
        )
        page.wait_for_function("document.getElementById('tl-player').readyState >= 1")
        shots = client_timeline(stack.gateway_url, pid)["shots"]
        assert page.locator(".tl-shot-thumb").count() == len(shots) > 0
        assert page.is_hidden("#tl-no-video") and "preview" in page.text_content("#tl-playing")
        page.click(".tl-shot-thumb >> nth=1")
        page.wait_for_function("!document.getElementById('tl-player').seeking")
        assert abs(player_time(page) - shots[1]["start_time"]) < 0.1
