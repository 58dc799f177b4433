"""Firing deadlines against a real database with a driven clock: what each AP rule does, and exactly once."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import sqlalchemy as sa

from checkin.clock import DrivenClock
from checkin.context import AppContext
from checkin.domain.model import MarkStatus
from checkin.domain.rules import preset
from checkin.services.ack_deadlines import schedule_ack
from checkin.storage.database import Tx
from checkin.storage.tables import alert_events, alerts, deadlines, deliveries, mark_history, marks, tasks
from checkin.watcher.loop import Watcher
from tests import factories
from tests.conftest import both_backends
from tests.watcher.scenarios import (
    GRAN_PHONE,
    MUM_PHONE,
    alerts_of,
    ap_session,
    deadlines_of,
    follow_up,
    mark,
    plan,
    rows,
)


async def at(clock: DrivenClock, watcher: Watcher, moment: datetime) -> int:
    clock.now = moment
    return await watcher.fire_due_now()


def start_of(clock: DrivenClock) -> datetime:
    return clock() + timedelta(minutes=5)


@both_backends
async def test_an_unmarked_pupil_at_minute_15_gets_a_no_show_alert_with_the_emergency_phones(
        ctx: AppContext, clock: DrivenClock) -> None:
    start = start_of(clock)
    s = await ap_session(ctx, start)
    await at(clock, Watcher(ctx), start + timedelta(minutes=15))
    [alert] = await alerts_of(ctx, s.session_id, "AP-NOSHOW")
    phones = [c["phone"] for c in alert.facts["emergency_contacts"]]
    assert (alert.kind, phones, alert.late_by_seconds) == ("no_show", [MUM_PHONE, GRAN_PHONE], 0)
    assert MUM_PHONE in alert.why and GRAN_PHONE in alert.why


async def test_the_no_show_marks_the_pupil_n_by_the_watcher_and_sets_a_call_task(
        ctx: AppContext, clock: DrivenClock) -> None:
    start = start_of(clock)
    s = await ap_session(ctx, start)
    await at(clock, Watcher(ctx), start + timedelta(minutes=15))
    [current] = await rows(ctx, marks, marks.c.session_id == s.session_id)
    [task] = await rows(ctx, tasks, tasks.c.kind == "call_emergency_contacts")
    [alert] = await alerts_of(ctx, s.session_id, "AP-NOSHOW")
    assert (current.status, current.code, current.source) == ("no_contact", "N", "watcher")
    assert (task.person_id, task.alert_id, task.assigned_user_id) == (s.person_id, alert.id, s.tutor_id)


async def test_a_pupil_marked_present_by_minute_14_gets_no_no_show(ctx: AppContext, clock: DrivenClock) -> None:
    start = start_of(clock)
    s = await ap_session(ctx, start)
    await mark(ctx, s, MarkStatus.PRESENT, start + timedelta(minutes=14))
    await at(clock, Watcher(ctx), start + timedelta(minutes=15))
    noshow = next(d for d in await deadlines_of(ctx, s.session_id) if d.rule_id == "AP-NOSHOW")
    assert await alerts_of(ctx, s.session_id, "AP-NOSHOW") == []
    assert (noshow.fired_at, noshow.result["outcome"]) == (start + timedelta(minutes=15), "nothing")


async def test_a_reached_follow_up_at_minute_50_stops_the_dsl_alert(ctx: AppContext, clock: DrivenClock) -> None:
    start = start_of(clock)
    s = await ap_session(ctx, start)
    watcher = Watcher(ctx)
    await at(clock, watcher, start + timedelta(minutes=15))
    await follow_up(ctx, s, "reached", start + timedelta(minutes=50))
    await at(clock, watcher, start + timedelta(minutes=60))
    dsl = next(d for d in await deadlines_of(ctx, s.session_id) if d.rule_id == "AP-DSL")
    assert await alerts_of(ctx, s.session_id, "AP-DSL") == []
    assert dsl.result["outcome"] == "nothing"


async def test_a_voicemail_follow_up_does_not_stop_the_dsl_alert(ctx: AppContext, clock: DrivenClock) -> None:
    start = start_of(clock)
    s = await ap_session(ctx, start)
    watcher = Watcher(ctx)
    await at(clock, watcher, start + timedelta(minutes=15))
    await follow_up(ctx, s, "voicemail", start + timedelta(minutes=50))
    await at(clock, watcher, start + timedelta(minutes=60))
    [alert] = await alerts_of(ctx, s.session_id, "AP-DSL")
    assert (alert.severity, alert.facts["follow_ups_logged"]) == ("safeguarding", 1)


@both_backends
async def test_the_dsl_alert_goes_to_the_chain_with_its_dsl_ack_deadline_beside_it(
        ctx: AppContext, clock: DrivenClock) -> None:
    start = start_of(clock)
    s = await ap_session(ctx, start)
    await at(clock, Watcher(ctx), start + timedelta(minutes=60))
    [alert] = await alerts_of(ctx, s.session_id, "AP-DSL")
    sent_to = {d.recipient for d in await rows(ctx, deliveries, deliveries.c.alert_id == alert.id)}
    [ack] = [d for d in await deadlines_of(ctx, s.session_id) if d.rule_id == "DSL-ACK"]
    assert {"dsl@example.org", "deputy@example.org"} <= sent_to
    assert (ack.alert_id, ack.person_id, ack.fired_at) == (alert.id, s.person_id, None)
    assert ack.due_at == start + timedelta(minutes=75)


async def test_a_dsl_alert_unacknowledged_for_15_minutes_climbs_the_chain_and_checks_again(
        ctx: AppContext, clock: DrivenClock) -> None:
    start = start_of(clock)
    s = await ap_session(ctx, start)
    watcher = Watcher(ctx)
    await at(clock, watcher, start + timedelta(minutes=60))
    await at(clock, watcher, start + timedelta(minutes=75))
    [alert] = await alerts_of(ctx, s.session_id, "AP-DSL")
    steps = [e.kind for e in await rows(ctx, alert_events, alert_events.c.alert_id == alert.id)]
    acks = sorted((d.key, d.fired_at is not None) for d in await deadlines_of(ctx, s.session_id)
                  if d.rule_id == "DSL-ACK")
    assert (alert.escalation_level, "escalated" in steps) == (1, True)
    assert [fired for _, fired in acks] == [True, False]


async def test_an_acknowledged_alert_makes_its_dsl_ack_deadline_do_nothing(
        ctx: AppContext, clock: DrivenClock) -> None:
    start = start_of(clock)
    s = await ap_session(ctx, start)
    watcher = Watcher(ctx)
    await at(clock, watcher, start + timedelta(minutes=60))
    [alert] = await alerts_of(ctx, s.session_id, "AP-DSL")

    async def acknowledge(tx: Tx) -> None:
        await tx.conn.execute(sa.update(alerts).where(alerts.c.id == alert.id).values(
            state="acknowledged", acknowledged_at=clock(), acknowledged_by=s.dsl_id))

    await ctx.db.write(acknowledge)
    await at(clock, watcher, start + timedelta(minutes=75))
    [ack] = [d for d in await deadlines_of(ctx, s.session_id) if d.rule_id == "DSL-ACK"]
    [after] = await alerts_of(ctx, s.session_id, "AP-DSL")
    assert (ack.result["outcome"], after.escalation_level) == ("nothing", 0)


async def test_a_deadline_fired_over_a_minute_late_says_how_late_in_the_alert(
        ctx: AppContext, clock: DrivenClock) -> None:
    start = start_of(clock)
    s = await ap_session(ctx, start)
    await at(clock, Watcher(ctx), start + timedelta(minutes=15, seconds=90))
    [alert] = await alerts_of(ctx, s.session_id, "AP-NOSHOW")
    assert alert.late_by_seconds == 90
    assert "late" in alert.why


async def test_firing_again_fires_nothing_twice(ctx: AppContext, clock: DrivenClock) -> None:
    start = start_of(clock)
    s = await ap_session(ctx, start)
    watcher = Watcher(ctx)
    first = await at(clock, watcher, start + timedelta(minutes=16))
    second = await watcher.fire_due_now()  # only the completion re-evaluation the no-show mark queued
    third = await watcher.fire_due_now()
    history = await rows(ctx, mark_history, mark_history.c.session_id == s.session_id)
    assert (first, second, third, len(await alerts_of(ctx, s.session_id)), len(history)) == (2, 1, 0, 1, 1)


async def _bad_deadline(ctx: AppContext, session_id: int, due: datetime) -> int:
    """A row naming a rule the engine does not know: evaluating it raises."""
    async def work(tx: Tx) -> int:
        return int((await tx.conn.execute(sa.insert(deadlines).values(
            org_id=ctx.extras["org_id"], session_id=session_id, rule_id="NO-SUCH-RULE",
            key=f"NO-SUCH-RULE:s{session_id}:p-:a-:0", due_at=due,
            created_at=due).returning(deadlines.c.id))).scalar_one())

    return await ctx.db.write(work)


async def test_a_failing_rule_rolls_back_only_its_own_effects_and_waits_to_retry(
        ctx: AppContext, clock: DrivenClock) -> None:
    start = start_of(clock)
    s = await ap_session(ctx, start)
    bad = await _bad_deadline(ctx, s.session_id, start + timedelta(minutes=15))
    await at(clock, Watcher(ctx), start + timedelta(minutes=15))
    [row] = await rows(ctx, deadlines, deadlines.c.id == bad)
    assert (row.fired_at, row.result["outcome"], row.result["attempts"]) == (None, "error", 1)
    assert row.claimed_until == start + timedelta(minutes=15, seconds=30)
    assert len(await alerts_of(ctx, s.session_id, "AP-NOSHOW")) == 1


async def test_a_rule_failing_five_times_is_given_up_as_failed(ctx: AppContext, clock: DrivenClock) -> None:
    s = await ap_session(ctx, start_of(clock))
    bad = await _bad_deadline(ctx, s.session_id, clock())
    watcher = Watcher(ctx)
    for _ in range(5):
        await at(clock, watcher, clock() + timedelta(hours=1))
    [row] = await rows(ctx, deadlines, deadlines.c.id == bad)
    assert (row.fired_at, row.result["outcome"], row.result["attempts"]) == (clock(), "failed", 5)


async def test_scheduling_the_ack_twice_for_one_alert_writes_one_deadline(
        ctx: AppContext, clock: DrivenClock) -> None:
    start = start_of(clock)
    s = await ap_session(ctx, start)
    await at(clock, Watcher(ctx), start + timedelta(minutes=60))
    [alert] = await alerts_of(ctx, s.session_id, "AP-DSL")

    async def again(tx: Tx) -> None:
        await schedule_ack(tx, ctx, alert.id, ctx.extras["org_id"], s.person_id, clock(), preset("ap_tuition"))

    await ctx.db.write(again)
    assert len([d for d in await deadlines_of(ctx, s.session_id) if d.rule_id == "DSL-ACK"]) == 1


async def _event_programme(ctx: AppContext) -> int:
    policy = replace(preset("residential_events"), events_call_pattern_only=True).to_dict()
    return await factories.programme(ctx, name="Residentials", code_set="plain", preset="residential_events",
                                     policy=policy)


@both_backends
async def test_chasing_only_on_a_pattern_calls_a_participant_at_their_second_unexplained_absence(
        ctx: AppContext, clock: DrivenClock) -> None:
    programme = await _event_programme(ctx)
    people = [await factories.person(ctx, name, "Delegate") for name in ("Ana", "Bo", "Cy")]
    first = clock() + timedelta(minutes=5)
    sessions = [await factories.session(ctx, programme, first + timedelta(days=d), kind="residential",
                                        title=f"Day {d + 1}", person_ids=tuple(people)) for d in (0, 1)]
    for session_id in sessions:
        await plan(ctx, session_id, clock())
    watcher = Watcher(ctx)
    await at(clock, watcher, first + timedelta(minutes=31))
    after_first = await rows(ctx, tasks, tasks.c.kind == "call")
    await at(clock, watcher, first + timedelta(days=1, minutes=31))
    calls = await rows(ctx, tasks, tasks.c.kind == "call")
    assert after_first == []
    assert sorted((t.session_id, t.person_id, t.facts["unexplained_absences"]) for t in calls) == [
        (sessions[1], p, 2) for p in people]
