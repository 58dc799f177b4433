"""Without SMTP settings: e-mail is recorded undeliverable (visible, never dropped), the alert still goes live."""

from __future__ import annotations

import sqlalchemy as sa

from checkin.clock import DrivenClock
from checkin.context import AppContext
from checkin.services.alerting import NOT_CONFIGURED, raise_alert, resolve_recipients
from checkin.services.dispatch import build_dispatcher
from checkin.storage import events
from checkin.storage.database import Tx
from checkin.storage.tables import alert_events, alerts, deliveries
from tests.services.alert_world import build_world


async def test_without_smtp_an_alerts_emails_are_recorded_undeliverable_and_it_still_goes_live(
        ctx: AppContext, clock: DrivenClock) -> None:
    world = await build_world(ctx)
    feed = ctx.hub.subscribe(events.org_channel(world.org_id))

    async def work(tx: Tx) -> int:
        recipients = await resolve_recipients(tx.conn, world.org_id, ["dsl_chain"], session_id=world.session_id,
                                              person_id=world.person_id)
        return await raise_alert(tx, ctx, org_id=world.org_id, rule_id="AP-DSL", kind="safeguarding",
                                 severity="safeguarding", title="Safeguarding: Sam Pupil", why="Not reached.",
                                 facts={"name": "Sam Pupil"}, recipients=recipients, now=clock.now,
                                 session_id=world.session_id, person_id=world.person_id)

    alert_id = await ctx.db.write(work)
    sent = await build_dispatcher(ctx).run_once()

    async with ctx.db.read() as conn:
        rows = (await conn.execute(sa.select(deliveries).order_by(deliveries.c.recipient))).all()
        steps = (await conn.execute(sa.select(alert_events.c.kind).where(alert_events.c.alert_id == alert_id)))\
            .scalars().all()
        told = (await conn.execute(sa.select(alerts.c.id).where(alerts.c.rule_id == "DELIVERY-FAILED"))).all()
    live = feed.queue.get_nowait()
    assert [(r.recipient, r.state, r.last_error) for r in rows] == [
        ("deputy@example.org", "undeliverable", NOT_CONFIGURED), ("dsl@example.org", "undeliverable", NOT_CONFIGURED)]
    assert sent == 0
    assert list(steps) == ["raised", "undeliverable"]
    assert told == []
    assert live is not None and (live["type"], live["data"]["id"]) == ("alert", alert_id)
