"""The deadlines page in a real Chromium against the live app, its watcher running on the real clock."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from checkin.clock import system_clock
from checkin.context import AppContext
from checkin.domain.model import Role
from tests.browser.conftest import sign_in_page
from tests.conftest import PASSWORD, LiveServer, make_user
from tests.watcher.scenarios import ApSession, ap_session

pytestmark = pytest.mark.browser
ADMIN = "ada.admin@example.org"


def test_the_page_shows_what_is_coming_up_and_what_each_fired_deadline_did(browser: Any, live: LiveServer) -> None:
    ctx: AppContext = live.app.state.ctx

    async def setup() -> tuple[ApSession, ApSession]:
        await make_user(ctx, ADMIN, Role.ADMIN, "Ada Admin")
        began = system_clock() - timedelta(minutes=20)
        done = await ap_session(ctx, began, first="Ava", plan_at=began)  # its +15 window is already due
        later = await ap_session(ctx, system_clock() + timedelta(hours=2), first="Ben")
        return done, later

    done, later = live.run(setup())
    context = sign_in_page(browser, live, ADMIN, PASSWORD)
    page = context.new_page()
    page.goto("/deadlines.html")
    fired = page.locator("#fired tbody tr", has_text=f"#{done.session_id}").filter(has_text="AP-NOSHOW")
    expect(fired).to_contain_text("Marked 1 no-show mark; raised 1 alert; set 1 task; sent 1 report.",
                                  timeout=15_000)
    expect(fired).to_contain_text("min late")
    upcoming = page.locator("#upcoming tbody tr", has_text=f"#{later.session_id}")
    expect(upcoming).to_have_count(3)
    page.fill("#session-id", str(later.session_id))
    page.click("button[type=submit]")
    expect(page.locator("#fired tbody")).to_contain_text("Nothing has fired yet.")
    context.close()
