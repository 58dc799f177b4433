"""The DSL's side: acknowledge (stopping DSL-ACK), decide, close, the case timeline, concerns from the room."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from checkin.clock import DrivenClock
from checkin.context import AppContext
from checkin.domain.errors import Conflict, Forbidden, Invalid
from checkin.domain.model import MarkSource, MarkStatus, Role
from checkin.domain.principal import Principal
from checkin.domain.rules import Policy, RuleConfig
from checkin.services import safeguarding
from checkin.services.ack_deadlines import schedule_ack
from checkin.services.alerting import raise_alert, resolve_recipients, send_report
from checkin.services.followups import log_follow_up
from checkin.services.marking import record_mark
from checkin.storage.database import Tx
from checkin.storage.tables import alert_events, alerts, audit_log, deadlines, deliveries, programmes
from tests import factories
from tests.conftest import make_user
from tests.services.alert_world import START, World, build_world

ACK_POLICY = Policy(rules=(RuleConfig.default("DSL-ACK"),))


@pytest.fixture
async def world(ctx: AppContext, clock: DrivenClock) -> World:
    clock.now = START + timedelta(minutes=60)
    return await build_world(ctx)


def staff(world: World, user_id: int, role: Role, name: str = "Staff") -> Principal:
    return Principal(user_id, world.org_id, role, name, "cookie")


async def raise_dsl_alert(ctx: AppContext, world: World, *, watched: bool = True) -> int:
    async def work(tx: Tx) -> int:
        recipients = await resolve_recipients(tx.conn, world.org_id, ["dsl_chain"], session_id=world.session_id,
                                              person_id=world.person_id)
        alert_id = await raise_alert(
            tx, ctx, org_id=world.org_id, rule_id="AP-DSL", kind="safeguarding", severity="safeguarding",
            title="Safeguarding: Sam Pupil not seen and not reached", why="Nobody reached by 10:00.",
            facts={"name": "Sam Pupil", "session_title": "Maths 1:1"}, recipients=recipients, now=ctx.clock(),
            session_id=world.session_id, person_id=world.person_id)
        if watched:
            await schedule_ack(tx, ctx, alert_id, world.org_id, world.person_id, ctx.clock(), ACK_POLICY)
        return alert_id

    return await ctx.db.write(work)


async def one(ctx: AppContext, table: sa.Table, *where: Any) -> Any:
    async with ctx.db.read() as conn:
        return (await conn.execute(sa.select(table).where(*where))).one()


async def test_acknowledging_an_alert_records_who_and_when_and_stops_its_pending_dsl_ack_deadline(
        ctx: AppContext, world: World, clock: DrivenClock) -> None:
    alert_id = await raise_dsl_alert(ctx, world)
    woken: list[str] = []
    ctx.wakers["watcher"] = lambda: woken.append("watcher")
    clock.advance(minutes=3)

    result = await safeguarding.acknowledge(ctx, staff(world, world.dsl_id, Role.DSL), alert_id, clock.now)

    alert = await one(ctx, alerts, alerts.c.id == alert_id)
    deadline = await one(ctx, deadlines, deadlines.c.alert_id == alert_id)
    assert (result["state"], alert.acknowledged_by, alert.acknowledged_at) == ("acknowledged", world.dsl_id, clock.now)
    assert (deadline.rule_id, deadline.fired_at) == ("DSL-ACK", clock.now)
    assert deadline.result["cancelled"] == "acknowledged"
    assert woken == ["watcher"]


async def test_acknowledging_an_acknowledged_alert_again_changes_nothing(
        ctx: AppContext, world: World, clock: DrivenClock) -> None:
    alert_id = await raise_dsl_alert(ctx, world)
    dsl = staff(world, world.dsl_id, Role.DSL)
    await safeguarding.acknowledge(ctx, dsl, alert_id, clock.now)
    clock.advance(minutes=5)

    await safeguarding.acknowledge(ctx, staff(world, world.deputy_id, Role.DSL), alert_id, clock.now)

    alert = await one(ctx, alerts, alerts.c.id == alert_id)
    assert (alert.acknowledged_by, alert.acknowledged_at) == (world.dsl_id, clock.now - timedelta(minutes=5))


async def test_a_decision_on_an_open_alert_acknowledges_it_and_goes_on_its_timeline(
        ctx: AppContext, world: World, clock: DrivenClock) -> None:
    alert_id = await raise_dsl_alert(ctx, world)

    await safeguarding.record_decision(ctx, staff(world, world.dsl_id, Role.DSL), alert_id,
                                       "Police informed: missing from education", clock.now)

    async with ctx.db.read() as conn:
        steps = (await conn.execute(sa.select(alert_events.c.kind, alert_events.c.text).where(
            alert_events.c.alert_id == alert_id).order_by(alert_events.c.id))).all()
    assert [s.kind for s in steps] == ["raised", "undeliverable", "acknowledged", "decision"]
    assert steps[-1].text == "Police informed: missing from education"
    assert (await one(ctx, alerts, alerts.c.id == alert_id)).state == "acknowledged"


async def test_a_closed_alert_keeps_its_outcome_and_takes_no_more_decisions(
        ctx: AppContext, world: World, clock: DrivenClock) -> None:
    alert_id = await raise_dsl_alert(ctx, world)
    dsl = staff(world, world.dsl_id, Role.DSL)

    await safeguarding.close_alert(ctx, dsl, alert_id, "Parent reached, pupil unwell", clock.now)

    alert = await one(ctx, alerts, alerts.c.id == alert_id)
    assert (alert.state, alert.outcome, alert.closed_by) == ("closed", "Parent reached, pupil unwell", world.dsl_id)
    assert (await one(ctx, deadlines, deadlines.c.alert_id == alert_id)).fired_at == clock.now
    with pytest.raises(Conflict) as refused:
        await safeguarding.record_decision(ctx, dsl, alert_id, "Too late", clock.now)
    assert refused.value.code == "alert_closed"


async def test_the_alert_detail_holds_marks_calls_reports_and_deliveries_and_its_viewing_is_audited(
        ctx: AppContext, world: World, clock: DrivenClock) -> None:
    async def mark(tx: Tx) -> None:
        await record_mark(tx, ctx, session_id=world.session_id, person_id=world.person_id,
                          status=MarkStatus.NO_CONTACT, code="N", source=MarkSource.WATCHER, actor=None,
                          now=START + timedelta(minutes=15), nonce="noshow-1", device="watcher")
        await send_report(tx, ctx, org_id=world.org_id, kind="ap_non_attendance",
                          subject_facts={"name": "Sam Pupil", "rule_id": "AP-NOSHOW"},
                          recipients=await resolve_recipients(tx.conn, world.org_id, ["attendance_contacts"],
                                                              session_id=world.session_id, person_id=world.person_id),
                          now=START + timedelta(minutes=15), session_id=world.session_id, person_id=world.person_id)

    await ctx.db.write(mark)
    await log_follow_up(ctx, staff(world, world.tutor_id, Role.TUTOR), person_id=world.person_id, outcome="no_answer",
                        method="phone", contact_name="Pat Parent", now=START + timedelta(minutes=20),
                        session_id=world.session_id)
    alert_id = await raise_dsl_alert(ctx, world)
    dsl = staff(world, world.dsl_id, Role.DSL, "Dana Lead")

    detail = await safeguarding.alert_detail(ctx, dsl, alert_id, clock.now)

    kinds = [e["kind"] for e in detail["timeline"]]
    assert kinds == ["session", "mark", "report", "follow_up", "raised", "undeliverable", "window"]
    assert "Contacted Pat Parent by phone: no answer." in detail["timeline"][3]["text"]
    assert sorted(d["recipient"] for d in detail["deliveries"]) == [
        "attendance.officer@example.org", "deputy@example.org", "dsl@example.org"]
    viewed = await one(ctx, audit_log, audit_log.c.action == "view")
    assert (viewed.entity, viewed.entity_id, viewed.actor_user_id) == ("alert", str(alert_id), world.dsl_id)


async def test_the_feed_lists_unacknowledged_safeguarding_alerts_first_then_the_longest_waiting(
        ctx: AppContext, world: World, clock: DrivenClock) -> None:
    first = await raise_dsl_alert(ctx, world, watched=False)
    clock.advance(minutes=1)
    second = await raise_dsl_alert(ctx, world, watched=False)
    dsl = staff(world, world.dsl_id, Role.DSL)
    await safeguarding.acknowledge(ctx, dsl, first, clock.now)
    clock.advance(minutes=1)
    third = await raise_dsl_alert(ctx, world, watched=False)

    feed = await safeguarding.list_alerts(ctx, dsl)

    assert [a["id"] for a in feed] == [second, third, first]


async def test_a_concern_from_the_room_is_a_safeguarding_alert_to_the_dsl_chain_watched_for_acknowledgement(
        ctx: AppContext, world: World, clock: DrivenClock) -> None:
    async def ack_on(tx: Tx) -> None:
        await tx.conn.execute(sa.update(programmes).values(policy=ACK_POLICY.to_dict()))

    await ctx.db.write(ack_on)
    tutor = staff(world, world.tutor_id, Role.TUTOR, "Tara Tutor")

    alert = await safeguarding.raise_concern(ctx, tutor, session_id=world.session_id, person_id=world.person_id,
                                             kind="wellbeing", note="Seemed very withdrawn today.", now=clock.now)

    row = await one(ctx, alerts, alerts.c.id == alert["id"])
    assert (row.rule_id, row.severity, row.state) == ("CONCERN", "safeguarding", "open")
    assert row.facts["note"] == "Seemed very withdrawn today." and row.facts["raised_by"] == "Tara Tutor"
    async with ctx.db.read() as conn:
        to = (await conn.execute(sa.select(deliveries.c.recipient).where(deliveries.c.alert_id == row.id))).scalars()
        watch = (await conn.execute(sa.select(deadlines).where(deadlines.c.alert_id == row.id))).one()
    assert sorted(to) == ["deputy@example.org", "dsl@example.org"]
    assert (watch.rule_id, watch.due_at) == ("DSL-ACK", clock.now + timedelta(minutes=15))


async def test_a_tutor_cannot_raise_a_concern_in_a_session_they_do_not_teach(
        ctx: AppContext, world: World, clock: DrivenClock) -> None:
    other = await make_user(ctx, "other.tutor@example.org", Role.TUTOR, "Olly Other")

    with pytest.raises(Forbidden) as refused:
        await safeguarding.raise_concern(ctx, staff(world, other, Role.TUTOR), session_id=world.session_id,
                                         person_id=world.person_id, kind="safeguarding", note="x", now=clock.now)

    assert refused.value.code == "not_your_session"


async def test_a_concern_about_someone_not_on_the_roster_is_refused(
        ctx: AppContext, world: World, clock: DrivenClock) -> None:
    stranger = await factories.person(ctx, "Nia", "Elsewhere")

    with pytest.raises(Invalid) as refused:
        await safeguarding.raise_concern(ctx, staff(world, world.tutor_id, Role.TUTOR), session_id=world.session_id,
                                         person_id=stranger, kind="safeguarding", note="x", now=clock.now)

    assert (refused.value.code, refused.value.field) == ("not_on_roster", "person_id")
