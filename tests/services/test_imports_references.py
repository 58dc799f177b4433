"""Contacts, sessions and rosters files: references resolved against the organisation's records."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from checkin.context import AppContext
from checkin.domain.model import Role
from checkin.domain.rules.presets import ap_tuition
from checkin.storage.tables import contacts, deadlines, people, roster, session_tutors, sessions
from tests import factories
from tests.conftest import both_backends, make_user
from tests.services.test_imports import count, manager, refused, rows, run

pytestmark = both_backends

PEOPLE = ("first_name,last_name,email,external_ref,ap_pupil,on_school_roll\n"
          "Priya,Okafor,priya.okafor@example.org,P-001,yes,no\n"
          "Tomasz,Byrne,tomasz.byrne@example.org,P-002,yes,yes\n")
CONTACTS = ("person_ref,kind,name,relationship,phone,email\n"
            "P-001,emergency,Grace Okafor,mother,07700 900101,\n"
            "priya.okafor@example.org,attendance,Harbourside Attendance Office,,,attendance@harbourside.example.org\n"
            "P-002,emergency,Sam Byrne,father,07700 900102,\n"
            "P-002,emergency,Jo Byrne,aunt,07700 900103,\n")
SESSIONS = ("external_ref,programme,title,kind,mode,date,start,end,location,tutor_email\n"
            "S-1,AP Tuition,Maths 1:1,ap_tuition,face_to_face,2026-03-02,09:00,10:00,Library room 2,tutor@example.org\n"
            "S-2,AP Tuition,English 1:1,ap_tuition,face_to_face,2026-03-02,10:30,11:30,,tutor@example.org\n")
ROSTERS = "session_ref,person_ref\nS-1,P-001\nS-2,tomasz.byrne@example.org\nS-1,P-002\n"


async def test_contacts_attach_to_people_named_by_ref_or_email(ctx: AppContext):
    actor = await manager(ctx)
    await run(ctx, actor, "people", PEOPLE)
    outcome = await run(ctx, actor, "contacts", CONTACTS)
    assert (outcome.created, outcome.updated) == (4, 0)
    found = await rows(ctx, contacts)
    assert [(c.kind, c.name, c.phone, c.preferred_channel, c.priority) for c in found] == [
        ("emergency", "Grace Okafor", "07700 900101", "phone", 0),
        ("attendance", "Harbourside Attendance Office", "", "email", 0),
        ("emergency", "Sam Byrne", "07700 900102", "phone", 0),
        ("emergency", "Jo Byrne", "07700 900103", "phone", 1)]


async def test_re_importing_contacts_updates_them_in_place(ctx: AppContext):
    actor = await manager(ctx)
    await run(ctx, actor, "people", PEOPLE)
    await run(ctx, actor, "contacts", CONTACTS)
    again = await run(ctx, actor, "contacts", CONTACTS.replace("07700 900103", "07700 900199"))
    assert (again.created, again.updated, again.unchanged) == (0, 1, 3)
    assert await count(ctx, contacts) == 4
    assert (await rows(ctx, contacts, contacts.c.name == "Jo Byrne"))[0].phone == "07700 900199"


async def test_a_contact_of_an_unknown_person_is_refused_and_no_contact_is_written(ctx: AppContext):
    actor = await manager(ctx)
    await run(ctx, actor, "people", PEOPLE)
    text = (CONTACTS + "P-404,emergency,Nobody Known,,07700 900104,\n"
            "nobody@example.org,emergency,Ann Other,,07700 900105,\n")
    assert await refused(ctx, actor, "contacts", text) == [(6, "person_ref", "unknown_person"),
                                                           (7, "person_ref", "unknown_person")]
    assert await count(ctx, contacts) == 0


async def test_a_contact_cannot_prefer_a_webhook(ctx: AppContext):
    actor = await manager(ctx)
    await run(ctx, actor, "people", PEOPLE)
    text = "person_ref,kind,name,email,preferred_channel\nP-001,attendance,Office,office@example.org,webhook\n"
    assert await refused(ctx, actor, "contacts", text) == [(2, "preferred_channel", "invalid_choice")]


async def test_a_person_ref_shared_by_two_people_is_ambiguous(ctx: AppContext):
    actor = await manager(ctx)
    await factories.person(ctx, "Ana", "Reyes", email="family@example.org")
    await factories.person(ctx, "Luis", "Reyes", email="family@example.org")
    text = "person_ref,kind,name,phone\nfamily@example.org,emergency,Marta Reyes,07700 900106\n"
    assert await refused(ctx, actor, "contacts", text) == [(2, "person_ref", "ambiguous_person")]


async def test_a_sessions_file_creates_sessions_at_local_times_with_their_tutor(ctx: AppContext):
    actor = await manager(ctx)
    tutor_id = await make_user(ctx, "tutor@example.org", Role.TUTOR, "Toni Tutor")
    await factories.programme(ctx, "AP Tuition")
    text = SESSIONS.replace("2026-03-02", "2026-06-01")  # British Summer Time: an hour ahead of UTC
    outcome = await run(ctx, actor, "sessions", text)
    assert (outcome.created, outcome.updated) == (2, 0)
    found = await rows(ctx, sessions)
    assert [(s.external_ref, s.starts_at, s.location, s.timezone) for s in found] == [
        ("S-1", datetime(2026, 6, 1, 8, 0, tzinfo=UTC), "Library room 2", "Europe/London"),
        ("S-2", datetime(2026, 6, 1, 9, 30, tzinfo=UTC), "", "Europe/London")]
    assert {(t.session_id, t.user_id) for t in await rows(ctx, session_tutors)} == {
        (found[0].id, tutor_id), (found[1].id, tutor_id)}


async def test_imported_rosters_plan_deadlines_and_a_re_imported_new_time_moves_them(ctx: AppContext):
    actor = await manager(ctx)
    await make_user(ctx, "tutor@example.org", Role.TUTOR, "Toni Tutor")
    await factories.programme(ctx, "AP Tuition", policy=ap_tuition().to_dict())
    await run(ctx, actor, "people", PEOPLE)
    await run(ctx, actor, "sessions", SESSIONS)
    assert await _report_due(ctx, "S-1") == []  # nobody on the roster yet: nothing to report
    await run(ctx, actor, "rosters", ROSTERS)
    assert await _report_due(ctx, "S-1") == [datetime(2026, 3, 2, 9, 15, tzinfo=UTC)]
    again = await run(ctx, actor, "sessions", SESSIONS.replace("09:00,10:00", "09:30,10:30"))
    assert (again.created, again.updated, again.unchanged) == (0, 1, 1)
    assert await count(ctx, sessions) == 2
    assert await _report_due(ctx, "S-1") == [datetime(2026, 3, 2, 9, 45, tzinfo=UTC)]


async def _report_due(ctx: AppContext, ref: str) -> list[datetime]:
    async with ctx.db.read() as conn:
        return list((await conn.execute(
            sa.select(deadlines.c.due_at).join(sessions, sessions.c.id == deadlines.c.session_id)
            .where(sessions.c.external_ref == ref, deadlines.c.rule_id == "AP-REPORT"))).scalars())


async def test_a_session_naming_an_unknown_programme_or_tutor_is_refused(ctx: AppContext):
    actor = await manager(ctx)
    await make_user(ctx, "events@example.org", Role.EVENTS_TEAM, "Eve Events")
    await factories.programme(ctx, "AP Tuition")
    text = (SESSIONS.replace("S-1,AP Tuition", "S-1,Astronomy")
            .replace("10:30,11:30,,tutor@example.org", "10:30,11:30,,events@example.org"))
    assert await refused(ctx, actor, "sessions", text) == [
        (2, "programme", "unknown_programme"), (2, "tutor_email", "unknown_tutor"),
        (3, "tutor_email", "not_a_tutor")]
    assert await count(ctx, sessions) == 0


async def test_a_session_whose_end_is_before_its_start_is_refused(ctx: AppContext):
    actor = await manager(ctx)
    await make_user(ctx, "tutor@example.org", Role.TUTOR, "Toni Tutor")
    await factories.programme(ctx, "AP Tuition")
    assert await refused(ctx, actor, "sessions", SESSIONS.replace("09:00,10:00", "10:00,09:00")) == [
        (2, "end", "end_before_start")]


async def test_a_roster_file_adds_people_and_a_repeat_adds_nobody(ctx: AppContext):
    actor = await manager(ctx)
    await make_user(ctx, "tutor@example.org", Role.TUTOR, "Toni Tutor")
    await factories.programme(ctx, "AP Tuition")
    await run(ctx, actor, "people", PEOPLE)
    await run(ctx, actor, "sessions", SESSIONS)
    assert (await run(ctx, actor, "rosters", ROSTERS)).created == 3
    again = await run(ctx, actor, "rosters", ROSTERS)
    assert (again.created, again.unchanged) == (0, 3)
    async with ctx.db.read() as conn:
        pairs = (await conn.execute(sa.select(sessions.c.external_ref, people.c.external_ref)
                                    .join(roster, roster.c.session_id == sessions.c.id)
                                    .join(people, people.c.id == roster.c.person_id))).all()
    assert sorted(map(tuple, pairs)) == [("S-1", "P-001"), ("S-1", "P-002"), ("S-2", "P-002")]


async def test_a_roster_row_naming_an_unknown_session_or_person_is_refused_whole(ctx: AppContext):
    actor = await manager(ctx)
    await make_user(ctx, "tutor@example.org", Role.TUTOR, "Toni Tutor")
    await factories.programme(ctx, "AP Tuition")
    await run(ctx, actor, "people", PEOPLE)
    await run(ctx, actor, "sessions", SESSIONS)
    text = ROSTERS + "S-9,P-001\nS-2,P-404\n"
    assert await refused(ctx, actor, "rosters", text) == [(5, "session_ref", "unknown_session"),
                                                          (6, "person_ref", "unknown_person")]
    assert await count(ctx, roster) == 0


async def test_a_roster_pair_named_once_by_ref_and_once_by_email_is_a_duplicate(ctx: AppContext):
    actor = await manager(ctx)
    await make_user(ctx, "tutor@example.org", Role.TUTOR, "Toni Tutor")
    await factories.programme(ctx, "AP Tuition")
    await run(ctx, actor, "people", PEOPLE)
    await run(ctx, actor, "sessions", SESSIONS)
    text = "session_ref,person_ref\nS-1,P-001\ns-1,priya.okafor@example.org\n"
    assert await refused(ctx, actor, "rosters", text) == [(3, "person_ref", "duplicate")]
