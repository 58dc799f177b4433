"""The tablet register in a real Chromium: marking, live updates between tablets, offline marking, completion."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from checkin.context import AppContext
from checkin.domain.model import MarkSource, MarkStatus, Role
from checkin.services.marking import record_mark
from checkin.storage.database import Tx
from checkin.storage.tables import mark_history, marks, sessions
from tests import factories
from tests.browser.conftest import sign_in_page
from tests.conftest import PASSWORD, LiveServer, make_user

pytestmark = pytest.mark.browser
TUTOR = "tess.tutor@example.org"
NAMES = ["Ava Example", "Ben Sample", "Cal Tester", "Dee Placeholder"]


@dataclass
class Register:
    live: LiveServer
    session_id: int
    people: dict[str, int]

    @property
    def ctx(self) -> AppContext:
        return self.live.app.state.ctx

    def marks(self) -> dict[int, Any]:
        async def read() -> dict[int, Any]:
            async with self.ctx.db.read() as conn:
                rows = (await conn.execute(sa.select(marks).where(marks.c.session_id == self.session_id))).all()
            return {r.person_id: r for r in rows}

        return self.live.run(read())

    def history(self) -> list[Any]:
        async def read() -> list[Any]:
            async with self.ctx.db.read() as conn:
                return list((await conn.execute(sa.select(mark_history).where(
                    mark_history.c.session_id == self.session_id).order_by(mark_history.c.id))).all())

        return self.live.run(read())


@pytest.fixture
def register(live: LiveServer) -> Register:
    ctx: AppContext = live.app.state.ctx

    async def build() -> Register:
        tutor = await make_user(ctx, TUTOR, Role.TUTOR, "Tess Tutor")
        programme_id = await factories.programme(ctx)  # AP tuition, England's 2024 codes
        people = {}
        for name in NAMES:
            first, last = name.split()
            people[name] = await factories.person(ctx, first, last)
        start = datetime.now(UTC) - timedelta(minutes=5)
        session_id = await factories.session(ctx, programme_id, start, title="Maths 1:1", tutor_ids=(tutor,),
                                             person_ids=tuple(people.values()))
        return Register(live, session_id, people)

    return live.run(build())


def open_register(browser: Any, register: Register) -> tuple[Any, Page]:
    context = sign_in_page(browser, register.live, TUTOR, PASSWORD)
    page = context.new_page()
    page.goto(f"/register.html#session/{register.session_id}")
    expect(page.locator("body")).to_have_attribute("data-ready", "register")
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    return context, page


def row(page: Page, register: Register, name: str) -> Any:
    return page.locator(f'li.person[data-person-id="{register.people[name]}"]')


def test_a_tutor_marks_the_roster_with_quick_actions(browser: Any, register: Register) -> None:
    context, page = open_register(browser, register)
    expect(page.locator("#countdowns")).to_contain_text(re.compile(r"AP report due in \d\d:\d\d"))
    expect(page.locator("#countdowns")).to_contain_text(re.compile(r"Register closes in \d\d:\d\d"))
    expect(page.locator('.countdown[data-rule="AP-REPORT"]')).to_have_attribute("data-urgency", "soon")
    expect(page.locator('.countdown[data-rule="REGISTER"]')).to_have_attribute("data-urgency", "calm")

    row(page, register, "Ava Example").get_by_role("button", name="Present: Ava Example").click()
    row(page, register, "Ben Sample").locator(".act-late").click()
    page.locator("#late-dialog").get_by_role("button", name="Mark late").click()
    row(page, register, "Cal Tester").locator(".act-absent").click()
    page.locator("#absent-dialog").get_by_role("radio", name="Illness").check()
    page.locator("#absent-dialog").get_by_role("button", name="Mark absent").click()
    expect(page.locator("#summary")).to_contain_text("Still unmarked: Dee Placeholder")
    row(page, register, "Dee Placeholder").locator(".act-present").click()
    row(page, register, "Dee Placeholder").locator(".act-left").click()
    page.locator("#left-dialog").get_by_role("button", name="Mark left early").click()
    expect(row(page, register, "Dee Placeholder")).to_have_attribute("data-status", "left_early")
    expect(page.locator('li.person[data-pending="true"]')).to_have_count(0)
    page.locator("#complete").click()

    expect(page.locator("#summary")).to_contain_text("Register completed at")
    expect(row(page, register, "Ava Example")).to_have_attribute("data-status", "present")
    expect(row(page, register, "Ben Sample")).to_contain_text(re.compile(r"arrived \d\d:\d\d · [45] min late"))
    expect(row(page, register, "Cal Tester")).to_contain_text("Absent (authorised) · Illness")
    held = register.marks()
    assert {pid: (m.status, m.code) for pid, m in held.items()} == {
        register.people["Ava Example"]: ("present", "/"), register.people["Ben Sample"]: ("late", "L"),
        register.people["Cal Tester"]: ("absent_authorised", "C"),
        register.people["Dee Placeholder"]: ("left_early", "/")}
    assert held[register.people["Ben Sample"]].minutes_late in (4, 5)
    context.close()


def test_a_window_under_five_minutes_away_is_shown_as_urgent(browser: Any, register: Register) -> None:
    async def started_twelve_minutes_ago(tx: Tx) -> None:
        await tx.conn.execute(sa.update(sessions).where(sessions.c.id == register.session_id)
                              .values(starts_at=datetime.now(UTC) - timedelta(minutes=12)))

    register.live.run(register.ctx.db.write(started_twelve_minutes_ago))
    context, page = open_register(browser, register)
    expect(page.locator('.countdown[data-rule="AP-REPORT"]')).to_have_attribute("data-urgency", "urgent")
    expect(page.locator('.countdown[data-rule="AP-REPORT"]')).to_contain_text(re.compile(r"AP report due in 0[23]:"))
    context.close()


def test_two_tablets_on_one_register_see_each_others_marks_live(browser: Any, register: Register) -> None:
    context_a, tablet_a = open_register(browser, register)
    context_b, tablet_b = open_register(browser, register)
    row(tablet_a, register, "Ava Example").locator(".act-present").click()
    expect(row(tablet_b, register, "Ava Example")).to_have_attribute("data-status", "present", timeout=1000)
    row(tablet_b, register, "Ava Example").locator(".act-late").click()
    tablet_b.locator("#late-dialog").get_by_role("button", name="Mark late").click()
    expect(row(tablet_a, register, "Ava Example")).to_have_attribute("data-status", "late", timeout=1000)
    expect(row(tablet_b, register, "Ava Example")).to_have_attribute("data-status", "late")
    context_a.close()
    context_b.close()


def test_a_qr_check_in_appears_on_an_open_register_within_a_second(browser: Any, register: Register) -> None:
    context, page = open_register(browser, register)

    async def scan() -> None:
        async def work(tx: Tx) -> None:
            await record_mark(tx, register.ctx, session_id=register.session_id,
                              person_id=register.people["Ben Sample"], status=MarkStatus.PRESENT, code=None,
                              source=MarkSource.QR, actor=None, now=datetime.now(UTC), event_type="checkin")

        await register.ctx.db.write(work)

    register.live.run(scan())
    expect(row(page, register, "Ben Sample")).to_contain_text("QR check-in", timeout=1000)
    context.close()


def test_marks_made_offline_sync_on_reconnect_with_their_original_times(browser: Any, register: Register) -> None:
    context, page = open_register(browser, register)
    context.set_offline(True)
    expect(page.locator("#connection")).to_have_attribute("data-state", "offline")
    for name in NAMES[:3]:
        row(page, register, name).locator(".act-present").click()
        expect(row(page, register, name)).to_have_attribute("data-pending", "true")
    expect(page.locator("#connection")).to_contain_text("3 waiting to sync")
    queued = page.evaluate("""() => new Promise((resolve, reject) => {
        const open = indexedDB.open("checkin-offline");
        open.onsuccess = () => {
            const get = open.result.transaction("marks").objectStore("marks").getAll();
            get.onsuccess = () => resolve(get.result.map((m) => [m.nonce, m.person_id, m.client_time]));
            get.onerror = () => reject(get.error);
        };
    })""")
    page.wait_for_timeout(1200)  # so the server's receipt time is visibly later than when the marks were made
    assert register.marks() == {}

    context.set_offline(False)
    for name in NAMES[:3]:
        expect(row(page, register, name)).to_have_attribute("data-pending", "false", timeout=10000)
    held = {r.nonce: r for r in register.history()}
    assert sorted(held) == sorted(n for n, _, _ in queued)
    for nonce, person_id, client_time in queued:
        made = datetime.fromisoformat(client_time.replace("Z", "+00:00"))
        assert (held[nonce].person_id, held[nonce].status, held[nonce].client_time) == (person_id, "present", made)
        assert held[nonce].server_time - made > timedelta(seconds=1)
    context.close()


def test_an_offline_mark_older_than_another_tablets_mark_loses_and_the_tutor_is_told(browser: Any,
                                                                                      register: Register) -> None:
    context_a, tablet_a = open_register(browser, register)
    context_b, tablet_b = open_register(browser, register)
    context_a.set_offline(True)
    row(tablet_a, register, "Ava Example").locator(".act-present").click()
    expect(row(tablet_a, register, "Ava Example")).to_have_attribute("data-pending", "true")
    row(tablet_b, register, "Ava Example").locator(".act-late").click()
    tablet_b.locator("#late-dialog").get_by_role("button", name="Mark late").click()
    # answered by the server, not merely not yet queued, before tablet A comes back
    expect(row(tablet_b, register, "Ava Example")).to_have_attribute("data-status", "late")
    expect(row(tablet_b, register, "Ava Example")).to_have_attribute("data-pending", "false")

    context_a.set_offline(False)
    expect(row(tablet_a, register, "Ava Example")).to_have_attribute("data-pending", "false", timeout=10000)
    expect(tablet_a.locator("#sync-notes")).to_contain_text(
        re.compile(r"Ava Example: your mark \(Present, made \d\d:\d\d offline\) was older than Late"))
    for tablet in (tablet_a, tablet_b):
        expect(row(tablet, register, "Ava Example")).to_have_attribute("data-status", "late")
    assert [(h.status, h.superseded) for h in register.history()] == [("late", False), ("present", True)]
    context_a.close()
    context_b.close()


def test_changing_a_mark_after_completion_is_refused_until_a_reason_is_given(browser: Any,
                                                                             register: Register) -> None:
    context, page = open_register(browser, register)
    for name in NAMES:
        row(page, register, name).locator(".act-present").click()
        expect(row(page, register, name)).to_have_attribute("data-status", "present")
    page.locator("#complete").click()
    expect(page.locator("#summary")).to_contain_text("Register completed at")

    row(page, register, "Ava Example").locator(".act-late").click()
    page.locator("#late-dialog").get_by_role("button", name="Mark late").click()
    reason = page.locator("#reason-dialog")
    expect(reason).to_be_visible()
    expect(row(page, register, "Ava Example")).to_have_attribute("data-status", "present")
    assert register.marks()[register.people["Ava Example"]].status == "present"

    reason.locator("textarea").fill("Arrived after the register was taken")
    reason.get_by_role("button", name="Change the mark").click()
    expect(row(page, register, "Ava Example")).to_have_attribute("data-status", "late")
    expect(row(page, register, "Ava Example")).to_have_attribute("data-pending", "false")
    ava = [h for h in register.history() if h.person_id == register.people["Ava Example"]]
    assert [(h.status, h.reason, h.late_entry) for h in ava] == [
        ("present", "", False), ("late", "Arrived after the register was taken", True)]
    context.close()


def test_the_register_page_opens_offline_from_the_service_worker(browser: Any, register: Register) -> None:
    context, page = open_register(browser, register)
    # a function, not a bare expression: Playwright polls an expression with eval, which the page's CSP refuses
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.reload()  # now controlled: the worker caches the page, its assets and the snapshot
    expect(page.locator("body")).to_have_attribute("data-ready", "register")
    context.set_offline(True)
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-ready", "register")
    expect(page.locator("li.person")).to_have_count(len(NAMES))
    row(page, register, "Ava Example").locator(".act-present").click()
    expect(row(page, register, "Ava Example")).to_contain_text("Waiting to sync")
    context.set_offline(False)
    expect(row(page, register, "Ava Example")).to_have_attribute("data-pending", "false", timeout=10000)
    assert register.marks()[register.people["Ava Example"]].status == "present"
    context.close()


def test_the_day_list_shows_the_tutors_session_and_opens_it(browser: Any, register: Register) -> None:
    context = sign_in_page(browser, register.live, TUTOR, PASSWORD)
    page = context.new_page()
    page.goto("/register.html")
    page.get_by_text("Maths 1:1").click()
    expect(page.locator("body")).to_have_attribute("data-ready", "register")
    expect(page.locator("#summary")).to_contain_text("0 of 4 marked")
    context.close()


def test_a_time_typed_after_midnight_for_an_evening_session_is_the_next_days(browser: Any, live: LiveServer) -> None:
    page = browser.new_context(base_url=live.url, timezone_id="Europe/London").new_page()
    page.goto("/")
    typed = page.evaluate("""async () => {
        const { onSessionDay } = await import("/js/register-dialogs.js");
        return [onSessionDay("2026-11-22T23:50:00Z", "00:04"), onSessionDay("2026-11-22T09:00:00Z", "09:05")]
            .map((d) => d.toISOString());
    }""")
    assert typed == ["2026-11-23T00:04:00.000Z", "2026-11-22T09:05:00.000Z"]
