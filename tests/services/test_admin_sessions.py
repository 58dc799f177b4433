"""Sessions and rosters as services: every change re-plans the session's deadlines in the same unit."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from checkin.context import AppContext
from checkin.domain.errors import Conflict, DomainError, Forbidden, Invalid
from checkin.domain.model import CancelledBy, Role, SessionKind, SessionMode
from checkin.domain.principal import Principal
from checkin.services import rosters, session_views, sessions
from checkin.services.programmes import create_programme
from checkin.storage.database import Tx
from checkin.storage.tables import audit_log, deadlines, organisations, session_tutors, tasks
from tests import factories
from tests.conftest import both_backends, make_user

NINE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
async def boss(ctx: AppContext) -> Principal:
    uid = await make_user(ctx, "boss@example.org", Role.PROGRAMME_MANAGER, "Bea Boss")
    return Principal(uid, ctx.extras["org_id"], Role.PROGRAMME_MANAGER, "Bea Boss", "cookie")


@pytest.fixture
async def ap_programme(ctx: AppContext, boss: Principal) -> int:
    made = await create_programme(ctx, boss, {"name": "AP Tuition", "preset": "ap_tuition"}, ctx.clock())
    return int(made["id"])


def _new(programme_id: int, **extra: Any) -> dict[str, Any]:
    return {"programme_id": programme_id, "title": "Maths 1:1", "kind": SessionKind.AP_TUITION,
            "mode": SessionMode.FACE_TO_FACE, "starts_at": NINE, "ends_at": NINE + timedelta(hours=1),
            "element": "", "location": "", "mandatory": True, "tutor_ids": [], "cohort_id": None,
            "external_ref": None} | extra


async def _deadlines(ctx: AppContext, session_id: int) -> dict[str, datetime]:
    async with ctx.db.read() as conn:
        rows = (await conn.execute(sa.select(deadlines.c.rule_id, deadlines.c.due_at)
                                   .where(deadlines.c.session_id == session_id))).all()
    return {r.rule_id: r.due_at for r in rows}


@both_backends
async def test_a_new_ap_session_with_a_pupil_has_its_three_ap_windows_planned(
        ctx: AppContext, boss: Principal, ap_programme: int) -> None:
    pupil = await factories.person(ctx)
    made = await sessions.create_session(ctx, boss, _new(ap_programme), ctx.clock())
    await rosters.set_roster(ctx, boss, made["id"], [pupil], ctx.clock())
    assert await _deadlines(ctx, made["id"]) == {
        "AP-REPORT": NINE + timedelta(minutes=15), "AP-NOSHOW": NINE + timedelta(minutes=15),
        "AP-DSL": NINE + timedelta(minutes=60)}


@both_backends
async def test_rescheduling_a_session_moves_its_deadlines(ctx: AppContext, boss: Principal, ap_programme: int) -> None:
    pupil = await factories.person(ctx)
    made = await sessions.create_session(ctx, boss, _new(ap_programme), ctx.clock())
    await rosters.set_roster(ctx, boss, made["id"], [pupil], ctx.clock())
    later = NINE + timedelta(hours=2)
    moved = await sessions.update_session(ctx, boss, made["id"], {"starts_at": later, "ends_at": later +
                                                                  timedelta(hours=1)}, ctx.clock())
    assert moved["starts_at"] == later.isoformat()
    assert (await _deadlines(ctx, made["id"]))["AP-DSL"] == later + timedelta(minutes=60)


@both_backends
async def test_cancelling_a_session_drops_its_pending_deadlines(
        ctx: AppContext, boss: Principal, ap_programme: int) -> None:
    pupil = await factories.person(ctx)
    made = await sessions.create_session(ctx, boss, _new(ap_programme), ctx.clock())
    await rosters.set_roster(ctx, boss, made["id"], [pupil], ctx.clock())
    done = await sessions.cancel_session(ctx, boss, made["id"], CancelledBy.PROVIDER, "Room flooded", ctx.clock())
    assert (done["status"], await _deadlines(ctx, made["id"])) == ("cancelled", {})


@both_backends
async def test_a_coach_cancellation_opens_a_reschedule_task(ctx: AppContext, boss: Principal,
                                                           ap_programme: int) -> None:
    made = await sessions.create_session(ctx, boss, _new(ap_programme), ctx.clock())
    done = await sessions.cancel_session(ctx, boss, made["id"], CancelledBy.COACH, "Coach unwell", ctx.clock())
    async with ctx.db.read() as conn:
        kinds = (await conn.execute(sa.select(tasks.c.kind).where(tasks.c.session_id == made["id"]))).scalars().all()
    assert (done["cancellation_effect"], kinds) == ("reschedule_task", ["reschedule"])


async def test_a_participant_cancelling_within_a_day_spends_the_session(
        ctx: AppContext, boss: Principal, ap_programme: int) -> None:
    made = await sessions.create_session(ctx, boss, _new(ap_programme), ctx.clock())
    done = await sessions.cancel_session(ctx, boss, made["id"], CancelledBy.PARTICIPANT, "Not coming", ctx.clock())
    assert done["cancellation_effect"] == "spent"


async def test_a_cancelled_session_cannot_be_cancelled_again(ctx: AppContext, boss: Principal,
                                                             ap_programme: int) -> None:
    made = await sessions.create_session(ctx, boss, _new(ap_programme), ctx.clock())
    await sessions.cancel_session(ctx, boss, made["id"], CancelledBy.PROVIDER, "Snow", ctx.clock())
    with pytest.raises(Conflict) as caught:
        await sessions.cancel_session(ctx, boss, made["id"], CancelledBy.PROVIDER, "Snow", ctx.clock())
    assert caught.value.code == "already_cancelled"


@both_backends
async def test_changing_the_roster_re_plans_the_session(ctx: AppContext, boss: Principal, ap_programme: int) -> None:
    pupil = await factories.person(ctx)
    made = await sessions.create_session(ctx, boss, _new(ap_programme), ctx.clock())
    before = await _deadlines(ctx, made["id"])
    await rosters.set_roster(ctx, boss, made["id"], [pupil], ctx.clock())
    after = await _deadlines(ctx, made["id"])
    await rosters.set_roster(ctx, boss, made["id"], [], ctx.clock())
    assert (before, sorted(after), await _deadlines(ctx, made["id"])) == ({}, ["AP-DSL", "AP-NOSHOW", "AP-REPORT"],
                                                                          {})


@both_backends
async def test_a_session_that_ends_before_it_starts_is_refused_and_nothing_is_written(
        ctx: AppContext, boss: Principal, ap_programme: int) -> None:
    with pytest.raises(Invalid) as caught:
        await sessions.create_session(ctx, boss, _new(ap_programme, ends_at=NINE), ctx.clock())
    assert (caught.value.code, caught.value.field) == ("ends_before_start", "ends_at")
    assert await session_views.list_sessions(ctx, boss) == []


@both_backends
async def test_a_tutor_id_that_is_not_a_tutor_is_refused_on_its_field_and_nothing_is_written(
        ctx: AppContext, boss: Principal, ap_programme: int) -> None:
    tutor = await make_user(ctx, "tutor@example.org", Role.TUTOR)
    dsl = await make_user(ctx, "dsl@example.org", Role.DSL)
    with pytest.raises(Invalid) as caught:
        await sessions.create_session(ctx, boss, _new(ap_programme, tutor_ids=[tutor, dsl]), ctx.clock())
    async with ctx.db.read() as conn:
        links = (await conn.execute(sa.select(sa.func.count()).select_from(session_tutors))).scalar_one()
        audits = (await conn.execute(sa.select(sa.func.count()).select_from(audit_log)
                                     .where(audit_log.c.entity == "session"))).scalar_one()
    assert (caught.value.code, caught.value.field, links, audits) == ("not_a_tutor", "tutor_ids[1]", 0, 0)


async def test_a_programme_of_another_organisation_is_refused_on_programme_id(
        ctx: AppContext, boss: Principal) -> None:
    async def other_org(tx: Tx) -> int:
        return int((await tx.conn.execute(sa.insert(organisations).values(
            name="Elsewhere", safeguarding_chain=[], bank_holidays=[], created_at=NINE,
        ).returning(organisations.c.id))).scalar_one())

    foreign_org = await ctx.db.write(other_org)
    foreign = await factories.programme(ctx, name="Theirs", org_id=foreign_org)
    with pytest.raises(Invalid) as caught:
        await sessions.create_session(ctx, boss, _new(foreign), ctx.clock())
    assert (caught.value.code, caught.value.field) == ("invalid_field", "programme_id")


async def test_a_tutor_lists_only_the_sessions_they_teach(ctx: AppContext, boss: Principal,
                                                          ap_programme: int) -> None:
    mine = await make_user(ctx, "tutor.one@example.org", Role.TUTOR)
    other = await make_user(ctx, "tutor.two@example.org", Role.TUTOR)
    taught = await sessions.create_session(ctx, boss, _new(ap_programme, tutor_ids=[mine]), ctx.clock())
    await sessions.create_session(ctx, boss, _new(ap_programme, title="Other", tutor_ids=[other]), ctx.clock())
    me = Principal(mine, ctx.extras["org_id"], Role.TUTOR, "Tutor One", "cookie")
    listed = await session_views.list_sessions(ctx, me)
    assert [s["id"] for s in listed] == [taught["id"]]


async def test_a_tutor_is_refused_another_tutors_session(ctx: AppContext, boss: Principal, ap_programme: int) -> None:
    mine = await make_user(ctx, "tutor.one@example.org", Role.TUTOR)
    other = await make_user(ctx, "tutor.two@example.org", Role.TUTOR)
    theirs = await sessions.create_session(ctx, boss, _new(ap_programme, tutor_ids=[other]), ctx.clock())
    me = Principal(mine, ctx.extras["org_id"], Role.TUTOR, "Tutor One", "cookie")
    with pytest.raises(Forbidden) as caught:
        await session_views.get_session(ctx, me, theirs["id"])
    assert caught.value.code == "not_your_session"


@both_backends
async def test_the_date_filter_is_a_local_day_in_summer_time(ctx: AppContext, boss: Principal,
                                                            ap_programme: int) -> None:
    # 23:30 UTC on 1 June is 00:30 on 2 June in London (BST).
    late = datetime(2026, 6, 1, 23, 30, tzinfo=UTC)
    made = await sessions.create_session(ctx, boss, _new(ap_programme, starts_at=late,
                                                         ends_at=late + timedelta(hours=1)), ctx.clock())
    on_second = await session_views.list_sessions(ctx, boss, day=date(2026, 6, 2))
    on_first = await session_views.list_sessions(ctx, boss, day=date(2026, 6, 1))
    assert ([s["id"] for s in on_second], on_first) == ([made["id"]], [])


@both_backends
async def test_a_session_running_past_midnight_is_listed_on_both_days(ctx: AppContext, boss: Principal,
                                                                        ap_programme: int) -> None:
    evening = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)  # London is on UTC in March
    made = await sessions.create_session(ctx, boss, _new(ap_programme, starts_at=evening,
                                                         ends_at=evening + timedelta(hours=2)), ctx.clock())
    listed = [[s["id"] for s in await session_views.list_sessions(ctx, boss, day=date(2026, 3, d))]
              for d in (1, 2, 3, 4)]
    assert listed == [[], [made["id"]], [made["id"]], []]


async def test_sessions_are_listed_by_start_time(ctx: AppContext, boss: Principal, ap_programme: int) -> None:
    second = await sessions.create_session(ctx, boss, _new(ap_programme, title="Second"), ctx.clock())
    first = await sessions.create_session(ctx, boss, _new(ap_programme, title="First", starts_at=NINE -
                                                          timedelta(hours=1)), ctx.clock())
    assert [s["id"] for s in await session_views.list_sessions(ctx, boss)] == [first["id"], second["id"]]


async def test_a_person_with_a_mark_cannot_be_taken_off_the_roster(ctx: AppContext, boss: Principal,
                                                                   ap_programme: int) -> None:
    from checkin.storage.tables import marks

    pupil = await factories.person(ctx)
    made = await sessions.create_session(ctx, boss, _new(ap_programme), ctx.clock())
    await rosters.set_roster(ctx, boss, made["id"], [pupil], ctx.clock())

    async def mark(tx: Tx) -> None:
        await tx.conn.execute(sa.insert(marks).values(session_id=made["id"], person_id=pupil, status="present",
                                                      code="/", source="tablet", server_time=NINE, history_id=1))

    await ctx.db.write(mark)
    with pytest.raises(DomainError) as caught:
        await rosters.set_roster(ctx, boss, made["id"], [], ctx.clock())
    assert (caught.value.code, caught.value.details["person_ids"]) == ("has_marks", [pupil])
    assert [p["person_id"] for p in await rosters.get_roster(ctx, boss, made["id"])] == [pupil]


async def test_the_roster_shows_each_persons_enrolment_status(ctx: AppContext, boss: Principal,
                                                              ap_programme: int) -> None:
    from checkin.services.enrolments import create_enrolment

    enrolled, stranger = await factories.person(ctx, "Ava"), await factories.person(ctx, "Ben")
    await create_enrolment(ctx, boss, enrolled, {"programme_id": ap_programme, "status": "deferred"}, ctx.clock())
    made = await sessions.create_session(ctx, boss, _new(ap_programme), ctx.clock())
    listed = await rosters.set_roster(ctx, boss, made["id"], [enrolled, stranger], ctx.clock())
    assert {p["person_id"]: p["enrolment_status"] for p in listed} == {enrolled: "deferred", stranger: None}


async def test_moving_a_session_is_audited_with_before_and_after(ctx: AppContext, boss: Principal,
                                                                 ap_programme: int) -> None:
    made = await sessions.create_session(ctx, boss, _new(ap_programme), ctx.clock())
    await sessions.update_session(ctx, boss, made["id"], {"location": "Library"}, ctx.clock())
    async with ctx.db.read() as conn:
        row = (await conn.execute(sa.select(audit_log).where(audit_log.c.action == "update",
                                                             audit_log.c.entity == "session"))).one()
    assert (row.before, row.after, row.session_id) == ({"location": ""}, {"location": "Library"}, made["id"])
