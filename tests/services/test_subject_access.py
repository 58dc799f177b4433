"""Subject access: everything held about a person as JSON; erasure where retention and holds allow it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from checkin.context import AppContext
from checkin.domain.errors import Conflict, NotFound
from checkin.domain.model import Role
from checkin.domain.principal import Principal
from checkin.services import legal_holds, subject_access
from checkin.storage.tables import alerts, audit_log, contacts, enrolments, people, roster
from tests import factories
from tests.conftest import both_backends
from tests.security.records import alert, count, marked_session, principal

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
SEVEN_YEARS_AGO = datetime(2019, 3, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
async def admin(ctx: AppContext) -> Principal:
    return await principal(ctx, "ada.admin@example.org", Role.ADMIN, "Ada Admin")


@pytest.fixture
async def tutor(ctx: AppContext) -> Principal:
    return await principal(ctx, "tess.tutor@example.org", Role.TUTOR, "Tess Tutor")


@both_backends
async def test_the_export_holds_the_person_their_contacts_marks_sessions_and_audit_trail(
        ctx: AppContext, admin: Principal, tutor: Principal) -> None:
    ava = await factories.person(ctx, "Ava", "Exämple-Ōkubo")
    await factories.contact(ctx, ava, "emergency", "Pat Example", phone="07700 900123")
    session_id = await marked_session(ctx, tutor, (ava,), NOW - timedelta(days=3))

    document = await subject_access.export(ctx, admin, ava, NOW)

    assert document["person"]["last_name"] == "Exämple-Ōkubo"
    assert [c["phone"] for c in document["records"]["contacts"]] == ["07700 900123"]
    assert [m["session_id"] for m in document["records"]["mark_history"]] == [session_id]
    assert [s["id"] for s in document["sessions"]] == [session_id]
    assert {e["action"] for e in document["audit"]} >= {"mark"}
    json.dumps(document)  # plain JSON all the way down


async def test_the_export_leaves_out_everyone_else(ctx: AppContext, admin: Principal, tutor: Principal) -> None:
    ava = await factories.person(ctx, "Ava", "Example")
    ben = await factories.person(ctx, "Ben", "Sample")
    await factories.contact(ctx, ben, "emergency", "Bo Sample", phone="07700 900456")
    await marked_session(ctx, tutor, (ava, ben), NOW - timedelta(days=3))

    document = await subject_access.export(ctx, admin, ava, NOW)

    text = json.dumps(document)
    assert "Sample" not in text and "900456" not in text


async def test_an_export_is_itself_audited(ctx: AppContext, admin: Principal) -> None:
    ava = await factories.person(ctx, "Ava", "Example")
    await subject_access.export(ctx, admin, ava, NOW)
    async with ctx.db.read() as conn:
        row = (await conn.execute(sa.select(audit_log).where(audit_log.c.action == "export"))).one()
    assert (row.actor_user_id, row.person_id, row.entity) == (admin.user_id, ava, "person")


async def test_another_organisations_person_cannot_be_exported(ctx: AppContext, admin: Principal) -> None:
    ava = await factories.person(ctx, "Ava", "Example")
    outsider = Principal(admin.user_id, admin.org_id + 1, Role.ADMIN, "Other Admin", "token")
    with pytest.raises(NotFound):
        await subject_access.export(ctx, outsider, ava, NOW)


@both_backends
async def test_a_person_with_no_register_inside_retention_is_erased_with_everything_about_them(
        ctx: AppContext, admin: Principal) -> None:
    ava = await factories.person(ctx, "Ava", "Example")
    await factories.contact(ctx, ava, "emergency", "Pat Example", phone="07700 900123")
    programme_id = await factories.programme(ctx)
    await factories._insert(ctx, enrolments, person_id=ava, programme_id=programme_id, updated_at=NOW)

    result = await subject_access.erase(ctx, admin, ava, "Asked by the family by e-mail", NOW)

    assert result["deleted"] == {"people": 1, "contacts": 1, "enrolments": 1}
    assert await count(ctx, people, people.c.id == ava) == 0
    assert await count(ctx, contacts) == 0


async def test_an_erasure_leaves_an_audit_entry_saying_it_happened_without_the_erased_data(
        ctx: AppContext, admin: Principal) -> None:
    ava = await factories.person(ctx, "Ava", "Zedworthy")
    await subject_access.erase(ctx, admin, ava, "Asked by the family", NOW)
    async with ctx.db.read() as conn:
        row = (await conn.execute(sa.select(audit_log).where(audit_log.c.action == "erase"))).one()
    assert (row.person_id, row.actor_user_id, row.after["reason"]) == (ava, admin.user_id, "Asked by the family")
    assert "Zedworthy" not in json.dumps(row.after)


@both_backends
async def test_erasure_is_refused_while_a_register_with_them_is_inside_six_years(
        ctx: AppContext, admin: Principal, tutor: Principal) -> None:
    ava = await factories.person(ctx, "Ava", "Example")
    await marked_session(ctx, tutor, (ava,), NOW - timedelta(days=30))

    with pytest.raises(Conflict) as refused:
        await subject_access.erase(ctx, admin, ava, "Asked", NOW)

    assert refused.value.code == "retention_applies"
    assert refused.value.details["keep_until"] == "2032-02-01T09:00:00+00:00"  # ended + six years
    assert await count(ctx, people, people.c.id == ava) == 1


async def test_erasure_is_refused_while_a_recent_alert_names_them(ctx: AppContext, admin: Principal) -> None:
    ava = await factories.person(ctx, "Ava", "Example")
    await alert(ctx, ava, NOW - timedelta(days=2))
    with pytest.raises(Conflict) as refused:
        await subject_access.erase(ctx, admin, ava, "Asked", NOW)
    assert refused.value.code == "retention_applies"


@both_backends
async def test_erasure_is_refused_with_legal_hold_while_one_covers_them(ctx: AppContext, admin: Principal) -> None:
    ava = await factories.person(ctx, "Ava", "Example")
    await legal_holds.place(ctx, admin, person_id=ava, session_id=None, reason="Court order", now=NOW)

    with pytest.raises(Conflict) as refused:
        await subject_access.erase(ctx, admin, ava, "Asked", NOW)

    assert refused.value.code == "legal_hold"
    assert await count(ctx, people, people.c.id == ava) == 1


async def test_a_hold_on_a_session_they_were_on_also_stops_their_erasure(
        ctx: AppContext, admin: Principal, tutor: Principal) -> None:
    ava = await factories.person(ctx, "Ava", "Example")
    session_id = await marked_session(ctx, tutor, (ava,), SEVEN_YEARS_AGO)
    await legal_holds.place(ctx, admin, person_id=None, session_id=session_id, reason="Inquiry", now=NOW)
    with pytest.raises(Conflict) as refused:
        await subject_access.erase(ctx, admin, ava, "Asked", NOW)
    assert refused.value.code == "legal_hold"


async def test_once_registers_are_past_retention_the_person_and_their_old_marks_can_be_erased(
        ctx: AppContext, admin: Principal, tutor: Principal) -> None:
    ava = await factories.person(ctx, "Ava", "Example")
    session_id = await marked_session(ctx, tutor, (ava,), SEVEN_YEARS_AGO)
    await alert(ctx, ava, SEVEN_YEARS_AGO, session_id)

    result = await subject_access.erase(ctx, admin, ava, "Asked", NOW)

    assert result["deleted"]["mark_history"] == 1 and result["deleted"]["alerts"] == 1
    assert await count(ctx, roster) == 0
    assert await count(ctx, alerts) == 0


async def test_a_person_only_on_future_sessions_can_be_erased(ctx: AppContext, admin: Principal) -> None:
    ava = await factories.person(ctx, "Ava", "Example")
    programme_id = await factories.programme(ctx)
    await factories.session(ctx, programme_id, NOW + timedelta(days=7), person_ids=(ava,))
    result = await subject_access.erase(ctx, admin, ava, "Changed their mind before starting", NOW)
    assert result["deleted"]["roster"] == 1
