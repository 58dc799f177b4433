"""People, contacts and enrolments as services: scoping for tutors, audited emergency contacts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from checkin.context import AppContext
from checkin.domain.errors import Conflict, DomainError, Forbidden, Invalid
from checkin.domain.model import Role
from checkin.domain.principal import Principal
from checkin.services import contacts, enrolments, people
from checkin.storage.tables import audit_log, school_history
from checkin.storage.tables import people as people_t
from tests import factories
from tests.conftest import both_backends, make_user

NINE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
async def boss(ctx: AppContext) -> Principal:
    uid = await make_user(ctx, "boss@example.org", Role.PROGRAMME_MANAGER, "Bea Boss")
    return Principal(uid, ctx.extras["org_id"], Role.PROGRAMME_MANAGER, "Bea Boss", "cookie")


async def _actor(ctx: AppContext, email: str, role: Role) -> Principal:
    uid = await make_user(ctx, email, role)
    return Principal(uid, ctx.extras["org_id"], role, email.split("@")[0], "cookie")


async def _person(ctx: AppContext, boss: Principal, **data: Any) -> dict[str, Any]:
    return await people.create_person(ctx, boss, {"first_name": "Ava", "last_name": "Example"} | data, ctx.clock())


async def _views(ctx: AppContext) -> list[Any]:
    async with ctx.db.read() as conn:
        return list((await conn.execute(sa.select(audit_log.c.actor_user_id, audit_log.c.person_id).where(
            audit_log.c.action == "view", audit_log.c.entity == "emergency_contacts"))).all())


@both_backends
async def test_a_person_is_created_and_found_by_any_part_of_their_name(ctx: AppContext, boss: Principal) -> None:
    ava = await _person(ctx, boss, external_ref="UPN-001", ap_pupil=True, on_school_roll=False)
    await _person(ctx, boss, first_name="Ben", last_name="Sample")
    found = await people.list_people(ctx, boss, q="ava exam")
    assert ([p["id"] for p in found], found[0]["name"], found[0]["on_school_roll"]) == ([ava["id"]], "Ava Example",
                                                                                        False)


async def test_a_search_term_with_a_wildcard_is_taken_literally(ctx: AppContext, boss: Principal) -> None:
    await _person(ctx, boss)
    assert await people.list_people(ctx, boss, q="%") == []


@both_backends
async def test_a_second_person_with_the_same_reference_is_a_conflict(ctx: AppContext, boss: Principal) -> None:
    await _person(ctx, boss, external_ref="UPN-001")
    with pytest.raises(Conflict) as caught:
        await _person(ctx, boss, first_name="Ben", external_ref="UPN-001")
    async with ctx.db.read() as conn:
        count = (await conn.execute(sa.select(sa.func.count()).select_from(people_t))).scalar_one()
    assert (caught.value.code, count) == ("external_ref_taken", 1)


async def test_a_date_of_birth_in_the_future_is_refused(ctx: AppContext, boss: Principal) -> None:
    with pytest.raises(Invalid) as caught:
        await _person(ctx, boss, date_of_birth=date(2030, 1, 1))
    assert (caught.value.code, caught.value.field) == ("date_in_future", "date_of_birth")


async def test_changing_school_keeps_the_old_one_in_the_history(ctx: AppContext, boss: Principal) -> None:
    ava = await _person(ctx, boss, school="Hillside Academy")
    changed = await people.update_person(ctx, boss, ava["id"], {"school": "Valley School"}, ctx.clock())
    async with ctx.db.read() as conn:
        old = (await conn.execute(sa.select(school_history.c.school)
                                  .where(school_history.c.person_id == ava["id"]))).scalars().all()
    assert (changed["school"], old) == ("Valley School", ["Hillside Academy"])


async def test_a_tutor_sees_only_the_people_on_their_rosters(ctx: AppContext, boss: Principal) -> None:
    tutor = await _actor(ctx, "tutor@example.org", Role.TUTOR)
    taught, other = await factories.person(ctx, "Ava"), await factories.person(ctx, "Ben")
    programme = await factories.programme(ctx)
    await factories.session(ctx, programme, NINE, tutor_ids=(tutor.user_id or 0,), person_ids=(taught,))
    assert [p["id"] for p in await people.list_people(ctx, tutor)] == [taught]
    with pytest.raises(Forbidden) as caught:
        await people.get_person(ctx, tutor, other)
    assert caught.value.code == "not_your_person"


async def test_people_are_filtered_by_programme_enrolment(ctx: AppContext, boss: Principal) -> None:
    programme = await factories.programme(ctx)
    ava, _ben = await _person(ctx, boss), await _person(ctx, boss, first_name="Ben")
    await enrolments.create_enrolment(ctx, boss, ava["id"], {"programme_id": programme}, ctx.clock())
    assert [p["id"] for p in await people.list_people(ctx, boss, programme_id=programme)] == [ava["id"]]


@both_backends
async def test_showing_emergency_contacts_to_the_events_team_is_audited(ctx: AppContext, boss: Principal) -> None:
    events = await _actor(ctx, "events@example.org", Role.EVENTS_TEAM)
    ava = await _person(ctx, boss)
    await contacts.create_contact(ctx, boss, ava["id"], {"kind": "emergency", "name": "Carol Example",
                                                         "relationship": "Mother", "phone": "07700 900123"},
                                  ctx.clock())
    shown = await contacts.list_contacts(ctx, events, ava["id"], ctx.clock())
    assert ([(c["name"], c["preferred_channel"]) for c in shown], await _views(ctx)) == (
        [("Carol Example", "phone")], [(events.user_id, ava["id"])])


async def test_contacts_without_emergency_ones_are_shown_without_a_view_entry(ctx: AppContext,
                                                                              boss: Principal) -> None:
    ava = await _person(ctx, boss)
    await contacts.create_contact(ctx, boss, ava["id"], {"kind": "attendance", "name": "School office",
                                                         "email": "office@school.example.org"}, ctx.clock())
    shown = await contacts.list_contacts(ctx, boss, ava["id"], ctx.clock())
    assert ([c["kind"] for c in shown], await _views(ctx)) == (["attendance"], [])


async def test_a_tutor_sees_the_emergency_contacts_of_a_pupil_they_teach(ctx: AppContext, boss: Principal) -> None:
    tutor = await _actor(ctx, "tutor@example.org", Role.TUTOR)
    pupil = await factories.person(ctx)
    await factories.contact(ctx, pupil, "emergency", "Carol Example", phone="07700 900123")
    await factories.session(ctx, await factories.programme(ctx), NINE, tutor_ids=(tutor.user_id or 0,),
                            person_ids=(pupil,))
    shown = await contacts.list_contacts(ctx, tutor, pupil, ctx.clock())
    assert ([c["phone"] for c in shown], await _views(ctx)) == (["07700 900123"], [(tutor.user_id, pupil)])


async def test_a_tutor_is_refused_the_contacts_of_a_pupil_they_do_not_teach(ctx: AppContext,
                                                                           boss: Principal) -> None:
    tutor = await _actor(ctx, "tutor@example.org", Role.TUTOR)
    other = await _actor(ctx, "other.tutor@example.org", Role.TUTOR)
    pupil = await factories.person(ctx)
    await factories.contact(ctx, pupil, "emergency", "Carol Example", phone="07700 900123")
    await factories.session(ctx, await factories.programme(ctx), NINE, tutor_ids=(other.user_id or 0,),
                            person_ids=(pupil,))
    with pytest.raises(Forbidden) as caught:
        await contacts.list_contacts(ctx, tutor, pupil, ctx.clock())
    assert (caught.value.code, await _views(ctx)) == ("not_your_person", [])


async def test_a_contact_without_phone_or_email_is_refused(ctx: AppContext, boss: Principal) -> None:
    ava = await _person(ctx, boss)
    with pytest.raises(Invalid) as caught:
        await contacts.create_contact(ctx, boss, ava["id"], {"kind": "emergency", "name": "Carol"}, ctx.clock())
    assert (caught.value.code, caught.value.field) == ("contact_unreachable", "phone")


async def test_removing_the_email_a_contact_prefers_is_refused(ctx: AppContext, boss: Principal) -> None:
    ava = await _person(ctx, boss)
    made = await contacts.create_contact(ctx, boss, ava["id"], {"kind": "employer", "name": "Line Manager",
                                                                "email": "lm@employer.example.org",
                                                                "phone": "07700 900456"}, ctx.clock())
    with pytest.raises(Invalid) as caught:
        await contacts.update_contact(ctx, boss, made["id"], {"email": ""}, ctx.clock())
    assert (made["preferred_channel"], caught.value.code) == ("email", "missing_email")


@both_backends
async def test_a_deleted_contact_is_gone_and_its_details_are_in_the_audit_log(ctx: AppContext,
                                                                              boss: Principal) -> None:
    ava = await _person(ctx, boss)
    made = await contacts.create_contact(ctx, boss, ava["id"], {"kind": "emergency", "name": "Carol Example",
                                                                "phone": "07700 900123"}, ctx.clock())
    await contacts.delete_contact(ctx, boss, made["id"], ctx.clock())
    async with ctx.db.read() as conn:
        before = (await conn.execute(sa.select(audit_log.c.before).where(audit_log.c.action == "delete"))).scalar_one()
    assert (await contacts.list_contacts(ctx, boss, ava["id"], ctx.clock()), before["name"]) == ([], "Carol Example")


async def test_an_unknown_contact_is_not_found(ctx: AppContext, boss: Principal) -> None:
    with pytest.raises(DomainError) as caught:
        await contacts.delete_contact(ctx, boss, 4242, ctx.clock())
    assert (caught.value.status, caught.value.code) == (404, "not_found")


@both_backends
async def test_an_enrolment_is_created_changed_and_listed(ctx: AppContext, boss: Principal) -> None:
    from checkin.services.cohorts import create_cohort

    programme = await factories.programme(ctx)
    cohort = await create_cohort(ctx, boss, programme, {"name": "Spring"}, ctx.clock())
    ava = await _person(ctx, boss)
    made = await enrolments.create_enrolment(ctx, boss, ava["id"], {"programme_id": programme,
                                                                    "cohort_id": cohort["id"]}, ctx.clock())
    await enrolments.update_enrolment(ctx, boss, made["id"], {"status": "parental_leave"},
                                      ctx.clock() + timedelta(days=1))
    listed = await enrolments.list_enrolments(ctx, boss, ava["id"])
    assert [(e["programme_name"], e["cohort_name"], e["status"]) for e in listed] == [
        ("AP Tuition", "Spring", "parental_leave")]


async def test_enrolling_twice_on_one_programme_is_a_conflict(ctx: AppContext, boss: Principal) -> None:
    programme = await factories.programme(ctx)
    ava = await _person(ctx, boss)
    await enrolments.create_enrolment(ctx, boss, ava["id"], {"programme_id": programme}, ctx.clock())
    with pytest.raises(Conflict) as caught:
        await enrolments.create_enrolment(ctx, boss, ava["id"], {"programme_id": programme}, ctx.clock())
    assert caught.value.code == "already_enrolled"


async def test_a_cohort_of_another_programme_is_refused_on_its_field(ctx: AppContext, boss: Principal) -> None:
    from checkin.services.cohorts import create_cohort

    first, second = await factories.programme(ctx), await factories.programme(ctx, name="Other")
    cohort = await create_cohort(ctx, boss, second, {"name": "Spring"}, ctx.clock())
    ava = await _person(ctx, boss)
    with pytest.raises(Invalid) as caught:
        await enrolments.create_enrolment(ctx, boss, ava["id"], {"programme_id": first, "cohort_id": cohort["id"]},
                                          ctx.clock())
    assert (caught.value.code, caught.value.field, await enrolments.list_enrolments(ctx, boss, ava["id"])) == (
        "invalid_field", "cohort_id", [])
