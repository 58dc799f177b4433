"""Follow-ups: nonce idempotency, waking the watcher, settling call tasks; session and incident reports."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from checkin.clock import DrivenClock
from checkin.context import AppContext
from checkin.domain.model import Role
from checkin.domain.principal import Principal
from checkin.services.followups import list_reports, log_follow_up, write_report
from checkin.storage.database import Tx
from checkin.storage.tables import alerts, deliveries, follow_ups, tasks
from tests.services.alert_world import START, World, build_world


@pytest.fixture
async def world(ctx: AppContext, clock: DrivenClock) -> World:
    clock.now = START + timedelta(minutes=35)
    return await build_world(ctx)


def tutor(world: World) -> Principal:
    return Principal(world.tutor_id, world.org_id, Role.TUTOR, "Tara Tutor", "cookie")


def events_team(world: World) -> Principal:
    return Principal(world.admin_id, world.org_id, Role.EVENTS_TEAM, "Eve Events", "cookie")


async def add_task(ctx: AppContext, world: World, kind: str, **facts: Any) -> int:
    async def work(tx: Tx) -> int:
        return int((await tx.conn.execute(sa.insert(tasks).values(
            org_id=world.org_id, kind=kind, session_id=world.session_id, person_id=world.person_id,
            title=f"{kind} Sam Pupil", assigned_role="events_team", facts={"name": "Sam Pupil", **facts},
            due_at=ctx.clock(), state="open", created_at=ctx.clock()).returning(tasks.c.id))).scalar_one())

    return await ctx.db.write(work)


async def all_rows(ctx: AppContext, table: sa.Table, *where: Any) -> list[Any]:
    async with ctx.db.read() as conn:
        return list((await conn.execute(sa.select(table).where(*where))).all())


async def test_the_same_nonce_twice_records_one_follow_up_and_returns_the_first(
        ctx: AppContext, world: World, clock: DrivenClock) -> None:
    first = await log_follow_up(ctx, tutor(world), person_id=world.person_id, session_id=world.session_id,
                                outcome="voicemail", method="phone", now=clock.now, nonce="tablet-7:42")
    again = await log_follow_up(ctx, tutor(world), person_id=world.person_id, session_id=world.session_id,
                                outcome="reached", method="phone", now=clock.now, nonce="tablet-7:42")

    assert (first["duplicate"], again["duplicate"]) == (False, True)
    assert (again["id"], again["outcome"]) == (first["id"], "voicemail")
    assert len(await all_rows(ctx, follow_ups)) == 1


async def test_a_reached_outcome_wakes_the_watcher_once_it_is_committed(
        ctx: AppContext, world: World, clock: DrivenClock) -> None:
    checks: list[asyncio.Task[list[Any]]] = []
    # What the watcher would see when woken: a read on its own connection.
    ctx.wakers["watcher"] = lambda: checks.append(asyncio.ensure_future(all_rows(ctx, follow_ups)))

    await log_follow_up(ctx, tutor(world), person_id=world.person_id, session_id=world.session_id,
                        outcome="reached", method="phone", contact_name="Pat Parent", now=clock.now)

    [check] = checks
    [seen] = await check
    assert (seen.outcome, seen.contact_name, seen.logged_by) == ("reached", "Pat Parent", world.tutor_id)


async def test_an_events_call_that_reaches_nobody_is_done_and_e_mails_the_participant(
        ctx: AppContext, world: World, clock: DrivenClock) -> None:
    task_id = await add_task(ctx, world, "call", email_follow_up_if_not_reached=True, session_title="Maths 1:1")

    await log_follow_up(ctx, events_team(world), person_id=None, task_id=task_id, outcome="no_answer",
                        method="phone", now=clock.now)

    [task] = await all_rows(ctx, tasks, tasks.c.id == task_id)
    [mail] = await all_rows(ctx, deliveries)
    assert (task.state, task.facts["outcome"]) == ("done", "no_answer")
    assert task.facts["email_follow_up"] == [mail.id]
    assert (mail.recipient, mail.kind, mail.subject) == ("sam.pupil@example.org", "EVENTS-FOLLOW-UP",
                                                         "We missed you at Maths 1:1")


async def test_a_call_to_emergency_contacts_stays_open_until_someone_is_reached(
        ctx: AppContext, world: World, clock: DrivenClock) -> None:
    task_id = await add_task(ctx, world, "call_emergency_contacts")

    await log_follow_up(ctx, tutor(world), person_id=world.person_id, task_id=task_id, outcome="voicemail",
                        method="phone", now=clock.now)
    after_voicemail = (await all_rows(ctx, tasks, tasks.c.id == task_id))[0].state
    await log_follow_up(ctx, tutor(world), person_id=world.person_id, task_id=task_id, outcome="reached",
                        method="phone", now=clock.now)

    assert (after_voicemail, (await all_rows(ctx, tasks, tasks.c.id == task_id))[0].state) == ("open", "done")
    assert await all_rows(ctx, deliveries) == []


async def test_an_incident_report_goes_to_the_dsl_chain_to_acknowledge_and_a_session_report_is_filed(
        ctx: AppContext, world: World, clock: DrivenClock) -> None:
    incident = await write_report(ctx, tutor(world), session_id=world.session_id, kind="incident",
                                  text="Sam left the room upset at 09:40.", now=clock.now, person_id=world.person_id)
    session = await write_report(ctx, tutor(world), session_id=world.session_id, kind="session",
                                 text="Covered fractions; Sam absent, parent called.", now=clock.now)

    listed = await list_reports(ctx, tutor(world), world.session_id)
    assert [(r["report_kind"], r["severity"], r["state"]) for r in listed] == [
        ("incident", "safeguarding", "open"), ("session", "info", "closed")]
    assert (incident["rule_id"], session["rule_id"]) == ("INCIDENT-REPORT", "SESSION-REPORT")
    assert listed[0]["text"] == "Sam left the room upset at 09:40."
    to = sorted(d.recipient for d in await all_rows(ctx, deliveries))
    assert to == ["deputy@example.org", "dsl@example.org"]
    assert len(await all_rows(ctx, alerts)) == 2
