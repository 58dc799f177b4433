"""The events board in a real Chromium: today's counts move live, and a one-tap outcome settles a call."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from checkin.context import AppContext
from checkin.domain.model import Role
from checkin.storage.database import Tx
from checkin.storage.tables import follow_ups, tasks
from tests import factories
from tests.browser.conftest import sign_in_page
from tests.conftest import PASSWORD, LiveServer, make_user

pytestmark = pytest.mark.browser
EVENTS = "eve.events@example.org"
TUTOR = "tess.tutor@example.org"


@pytest.fixture
def board(browser: Any, live: LiveServer) -> Iterator[tuple[Page, dict[str, Any]]]:
    ctx: AppContext = live.app.state.ctx

    async def setup() -> dict[str, Any]:
        await make_user(ctx, EVENTS, Role.EVENTS_TEAM, "Eve Events")
        tutor = await make_user(ctx, TUTOR, Role.TUTOR, "Tess Tutor")
        programme = await factories.programme(ctx, name="Leaders", code_set="plain", preset="")
        people = [await factories.person(ctx, f"Guest{i}", "Example") for i in range(3)]
        await factories.contact(ctx, people[2], "emergency", "Kim Example", relationship="Partner",
                                phone="07700 900456")
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=31)
        session = await factories.session(ctx, programme, start, title="Leadership day", kind="conference",
                                          tutor_ids=(tutor,), person_ids=tuple(people))

        async def call(tx: Tx) -> int:
            now = datetime.now(UTC)
            return int((await tx.conn.execute(sa.insert(tasks).values(
                org_id=ctx.extras["org_id"], kind="call", session_id=session, person_id=people[2],
                title="Call Guest2 Example", assigned_role="events_team",
                facts={"name": "Guest2 Example", "session_title": "Leadership day", "phone": "",
                       "email_follow_up_if_not_reached": True, "rule_id": "EVENTS-CALL"},
                due_at=now, state="open", created_at=now).returning(tasks.c.id))).scalar_one())

        return {"session": session, "people": people, "task": await ctx.db.write(call)}

    ids = live.run(setup())
    context = sign_in_page(browser, live, EVENTS, PASSWORD)
    yield context.new_page(), ids
    context.close()


async def call_outcome(ctx: AppContext, task_id: int) -> tuple[str, list[str]]:
    async with ctx.db.read() as conn:
        state = (await conn.execute(sa.select(tasks.c.state).where(tasks.c.id == task_id))).scalar_one()
        outcomes = (await conn.execute(sa.select(follow_ups.c.outcome).where(follow_ups.c.task_id == task_id)))\
            .scalars().all()
    return state, list(outcomes)


def test_the_events_team_watches_arrivals_live_and_logs_a_call_with_one_tap(
        board: tuple[Page, dict[str, Any]], live: LiveServer, browser: Any) -> None:
    page, ids = board
    page.goto("/events.html")
    row = page.locator(f'#sessions tr[data-session-id="{ids["session"]}"]')
    expect(row.locator(".expected")).to_have_text("3")
    expect(row.locator(".missing")).to_have_text("3")
    call = page.locator(f'#calls [data-task-id="{ids["task"]}"]')
    expect(call.locator('a[href="tel:07700900456"]')).to_be_visible()

    tutor = sign_in_page(browser, live, TUTOR, PASSWORD)
    csrf = tutor.request.get("/api/auth/me").json()["csrf_token"]
    marked = tutor.request.post(f"/api/sessions/{ids['session']}/marks", headers={"X-CSRF-Token": csrf}, data={
        "person_id": ids["people"][0], "status": "present", "client_time": datetime.now(UTC).isoformat(),
        "nonce": secrets.token_hex(8)})
    assert marked.ok, marked.text()
    expect(row.locator(".arrived")).to_have_text("1")
    expect(row.locator(".missing")).to_have_text("2")
    call.locator('button[data-outcome="reached"]').click()
    expect(call).to_have_attribute("data-state", "done")
    tutor.close()

    assert live.run(call_outcome(live.app.state.ctx, ids["task"])) == ("done", ["reached"])
