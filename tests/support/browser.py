"""A real headless browser for the page tests: Playwright for Python driving Debian's Chromium
(`apt-get install chromium`, the Makefile's `browser` target), never a downloaded build."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (make browser, or apt-get install chromium)"
)
# Where copies of the screenshots go, for people to look at.
SCREENSHOT_DIR = Path(os.environ.get("LUMIERE_SCREENSHOT_DIR", "/tmp"))
FLAGS = [
    "--no-sandbox",  # root in a container has no user namespace for the sandbox
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--autoplay-policy=no-user-gesture-required",
    "--mute-audio",
]


@contextmanager
def chromium() -> Iterator[Browser]:
    """A Playwright browser on the system's Chromium."""
    assert CHROMIUM is not None
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()
