"""The safeguarding dashboard in a real Chromium: an AP-DSL alert arrives live, is acknowledged, and DSL-ACK stops."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from checkin.context import AppContext
from checkin.domain.model import Role
from checkin.domain.rules import Policy, RuleConfig
from checkin.services.ack_deadlines import schedule_ack
from checkin.services.alerting import raise_alert, resolve_recipients
from checkin.storage.database import Tx
from checkin.storage.tables import alert_events, alerts, audit_log, deadlines, organisations
from tests import factories
from tests.browser.conftest import sign_in_page
from tests.conftest import PASSWORD, LiveServer, make_user

pytestmark = pytest.mark.browser
DSL = "dana.lead@example.org"


@pytest.fixture
def dashboard(browser: Any, live: LiveServer) -> Iterator[tuple[Page, dict[str, int]]]:
    ctx: AppContext = live.app.state.ctx

    async def setup() -> dict[str, int]:
        dsl = await make_user(ctx, DSL, Role.DSL, "Dana Lead")
        deputy = await make_user(ctx, "drew.deputy@example.org", Role.DSL, "Drew Deputy")

        async def chain(tx: Tx) -> None:
            await tx.conn.execute(sa.update(organisations).values(safeguarding_chain=[dsl, deputy]))

        await ctx.db.write(chain)
        programme = await factories.programme(ctx)
        person = await factories.person(ctx, "Sam", "Pupil", ap_pupil=True, on_school_roll=False)
        session = await factories.session(ctx, programme, datetime.now(UTC), person_ids=(person,))
        return {"dsl": dsl, "person": person, "session": session}

    ids = live.run(setup())
    context = sign_in_page(browser, live, DSL, PASSWORD)
    page = context.new_page()
    yield page, ids
    context.close()


async def raise_ap_dsl(ctx: AppContext, ids: dict[str, int]) -> int:
    """What the watcher does when AP-DSL fires: the alert to the DSL chain and its DSL-ACK deadline."""
    async def work(tx: Tx) -> int:
        org_id = ctx.extras["org_id"]
        recipients = await resolve_recipients(tx.conn, org_id, ["dsl_chain"], session_id=ids["session"],
                                              person_id=ids["person"])
        now = ctx.clock()
        alert_id = await raise_alert(
            tx, ctx, org_id=org_id, rule_id="AP-DSL", kind="safeguarding", severity="safeguarding",
            title="Safeguarding: Sam Pupil not seen and not reached", why="Nobody reached within the first hour.",
            facts={"name": "Sam Pupil", "session_title": "Maths 1:1", "emergency_contacts": [
                {"name": "Pat Parent", "relationship": "Mother", "phone": "07700 900123"}]},
            recipients=recipients, now=now, session_id=ids["session"], person_id=ids["person"])
        await schedule_ack(tx, ctx, alert_id, org_id, ids["person"], now,
                           Policy(rules=(RuleConfig.default("DSL-ACK"),)))
        return alert_id

    return await ctx.db.write(work)


async def stored(ctx: AppContext, alert_id: int) -> tuple[Any, Any, list[str], int]:
    async with ctx.db.read() as conn:
        alert = (await conn.execute(sa.select(alerts).where(alerts.c.id == alert_id))).one()
        deadline = (await conn.execute(sa.select(deadlines).where(deadlines.c.alert_id == alert_id))).one()
        steps = (await conn.execute(sa.select(alert_events.c.kind).where(alert_events.c.alert_id == alert_id)
                                    .order_by(alert_events.c.id))).scalars().all()
        views = (await conn.execute(sa.select(sa.func.count()).select_from(audit_log).where(
            audit_log.c.action == "view", audit_log.c.entity == "alert"))).scalar_one()
    return alert, deadline, list(steps), int(views)


def test_a_dsl_sees_an_ap_dsl_alert_arrive_within_a_second_and_acknowledges_it(
        dashboard: tuple[Page, dict[str, int]], live: LiveServer) -> None:
    page, ids = dashboard
    ctx: AppContext = live.app.state.ctx
    page.goto("/safeguarding.html")
    expect(page.locator("#live")).to_have_text("Live")
    expect(page.locator("#feed-empty")).to_be_visible()

    alert_id = live.run(raise_ap_dsl(ctx, ids))
    raised_at = time.monotonic()  # committed: from here the push has a second to reach the page
    item = page.locator(f'#feed [data-alert-id="{alert_id}"]')
    expect(item).to_be_visible(timeout=1000)
    arrived_in = time.monotonic() - raised_at
    expect(page.locator("#badge")).to_have_text("1 new")
    item.click()
    expect(page.locator("#detail-title")).to_have_text("Safeguarding: Sam Pupil not seen and not reached")
    expect(page.locator("#detail-contacts a")).to_have_attribute("href", "tel:07700900123")
    page.locator("#ack").click()
    expect(item.locator(".state")).to_have_text("acknowledged")

    alert, deadline, steps, views = live.run(stored(ctx, alert_id))
    assert arrived_in < 1.0
    assert (alert.state, alert.acknowledged_by) == ("acknowledged", ids["dsl"])
    assert deadline.fired_at is not None and deadline.result["cancelled"] == "acknowledged"
    assert "acknowledged" in steps
    assert views >= 1
