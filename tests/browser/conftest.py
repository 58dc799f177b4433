"""Playwright driving Debian's Chromium against the real app served on loopback."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from checkin.settings import Settings
from tests.conftest import IN_CI, LiveServer

CHROMIUM = os.environ.get("CHECKIN_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not shutil.which(CHROMIUM):
        message = f"browser tests need Chromium at {CHROMIUM} (Debian: apt-get install chromium)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import expect, sync_playwright

    # A loaded 2-core CI machine can take longer than the default 5 s to settle a live update.
    expect.set_options(timeout=10_000)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def live(live_settings: Settings) -> Iterator[LiveServer]:
    """The app on a free port with its watcher and dispatcher running."""
    with LiveServer(live_settings) as server:
        yield server


def sign_in_page(browser: Any, live: LiveServer, email: str, password: str) -> Any:
    """A new browser context signed in as `email` through the API (the cookie lands in the context)."""
    context = browser.new_context(base_url=live.url)
    response = context.request.post("/api/auth/sign-in", data={"email": email, "password": password})
    assert response.ok, response.text()
    return context
