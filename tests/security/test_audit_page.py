"""The audit page in a real Chromium under the app's CSP: search by person, page through, no script errors."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from checkin.context import AppContext
from checkin.domain.model import Role
from checkin.settings import Settings
from tests import factories
from tests.browser.conftest import CHROMIUM, FLAGS, sign_in_page
from tests.conftest import IN_CI, PASSWORD, LiveServer
from tests.security.records import mark, principal, staff_with_password

pytestmark = pytest.mark.browser
ADMIN = "ada.admin@example.org"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Chromium for this module only: Playwright's sync API holds an event loop open while it runs,
    which must not outlive these tests (the async tests after them need the thread's loop free)."""
    if not shutil.which(CHROMIUM):
        message = f"browser tests need Chromium at {CHROMIUM} (Debian: apt-get install chromium)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(chromium: Any, live_settings: Settings) -> Iterator[tuple[Page, dict[str, int], list[str]]]:
    with LiveServer(live_settings) as live:
        yield from _page(chromium, live)


def _page(browser: Any, live: LiveServer) -> Iterator[tuple[Page, dict[str, int], list[str]]]:
    ctx: AppContext = live.app.state.ctx

    async def seed() -> dict[str, int]:
        await staff_with_password(ctx, ADMIN, Role.ADMIN)
        tutor = await principal(ctx, "tess.tutor@example.org", Role.TUTOR, "Tess Tutor")
        ava = await factories.person(ctx, "Ava", "Example")
        ben = await factories.person(ctx, "Ben", "Sample")
        programme_id = await factories.programme(ctx)
        start = datetime.now(UTC).replace(microsecond=0)
        session_id = await factories.session(ctx, programme_id, start, tutor_ids=(tutor.user_id or 0,),
                                             person_ids=(ava, ben))
        await mark(ctx, session_id, ava, tutor, start)
        await mark(ctx, session_id, ben, tutor, start)
        return {"ava": ava, "ben": ben, "session": session_id}

    ids = live.run(seed())
    context = sign_in_page(browser, live, ADMIN, PASSWORD)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("console", lambda m: errors.append(m.text)
              if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
    opened.on("pageerror", lambda e: errors.append(str(e)))
    opened.on("response", lambda r: errors.append(f"{r.status} {r.url}")
              if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    yield opened, ids, errors
    context.close()


def test_the_audit_page_finds_one_persons_mark_entries(page: tuple[Page, dict[str, int], list[str]]) -> None:
    opened, ids, errors = page
    opened.goto("/audit.html")
    opened.fill("input[name=person_id]", str(ids["ava"]))
    opened.select_option("select[name=entity]", "mark")
    opened.click("button[type=submit]")
    rows = opened.locator("#entries tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Tess Tutor")
    expect(rows.first).to_contain_text('"status":"present"')
    expect(opened.locator("#summary")).to_have_text("Entries 1–1 of 1, newest first.")
    assert errors == []
