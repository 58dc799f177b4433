"""Staff accounts and the organisation's settings as services."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from checkin.context import AppContext
from checkin.domain.errors import Conflict, Invalid
from checkin.domain.model import Role
from checkin.domain.principal import Principal
from checkin.services import org_settings, staff
from checkin.services.accounts import sign_in
from checkin.storage.tables import audit_log, user_sessions
from tests.conftest import PASSWORD, both_backends, make_user


@pytest.fixture
async def chief(ctx: AppContext) -> Principal:
    uid = await make_user(ctx, "chief@example.org", Role.ADMIN, "Cass Chief")
    return Principal(uid, ctx.extras["org_id"], Role.ADMIN, "Cass Chief", "cookie")


def _new(email: str, role: Role = Role.TUTOR, **extra: Any) -> dict[str, Any]:
    return {"email": email, "name": email.split("@")[0].title(), "role": role, "password": None,
            "manager_id": None, "phone": ""} | extra


@both_backends
async def test_a_staff_member_is_created_with_a_manager_and_listed_by_role(ctx: AppContext,
                                                                          chief: Principal) -> None:
    manager = await staff.create_staff(ctx, chief, _new("pm@example.org", Role.PROGRAMME_MANAGER), ctx.clock())
    tutor = await staff.create_staff(ctx, chief, _new("Tutor@Example.org", manager_id=manager["id"]), ctx.clock())
    listed = await staff.list_staff(ctx, chief, role=Role.TUTOR)
    assert [(s["email"], s["manager_id"]) for s in listed] == [("tutor@example.org", manager["id"])]
    assert tutor["active"] is True


async def test_a_taken_email_is_a_conflict(ctx: AppContext, chief: Principal) -> None:
    with pytest.raises(Conflict) as caught:
        await staff.create_staff(ctx, chief, _new("CHIEF@example.org"), ctx.clock())
    assert (caught.value.code, caught.value.field) == ("email_taken", "email")


async def test_a_short_password_is_refused(ctx: AppContext, chief: Principal) -> None:
    with pytest.raises(Invalid) as caught:
        await staff.create_staff(ctx, chief, _new("t@example.org", password="short"), ctx.clock())
    assert caught.value.code == "password_too_short"


async def test_a_manager_who_reports_to_the_person_is_refused(ctx: AppContext, chief: Principal) -> None:
    boss = await staff.create_staff(ctx, chief, _new("pm@example.org", Role.PROGRAMME_MANAGER), ctx.clock())
    report = await staff.create_staff(ctx, chief, _new("t@example.org", manager_id=boss["id"]), ctx.clock())
    with pytest.raises(Invalid) as caught:
        await staff.update_staff(ctx, chief, boss["id"], {"manager_id": report["id"]}, ctx.clock())
    assert (caught.value.code, caught.value.field) == ("manager_cycle", "manager_id")


async def test_the_last_admin_cannot_be_demoted(ctx: AppContext, chief: Principal) -> None:
    with pytest.raises(Conflict) as caught:
        await staff.update_staff(ctx, chief, chief.user_id or 0, {"role": Role.TUTOR}, ctx.clock())
    assert caught.value.code == "last_admin"


@both_backends
async def test_deactivating_someone_ends_their_sign_in_sessions(ctx: AppContext, chief: Principal) -> None:
    uid = await make_user(ctx, "leaver@example.org", Role.TUTOR)
    await sign_in(ctx.db, "leaver@example.org", PASSWORD, ctx.clock(), 12)
    changed = await staff.update_staff(ctx, chief, uid, {"active": False}, ctx.clock())
    async with ctx.db.read() as conn:
        open_sessions = (await conn.execute(sa.select(sa.func.count()).select_from(user_sessions).where(
            user_sessions.c.user_id == uid, user_sessions.c.revoked_at.is_(None)))).scalar_one()
    assert (changed["active"], open_sessions) == (False, 0)


async def test_a_password_change_is_audited_without_the_password(ctx: AppContext, chief: Principal) -> None:
    uid = await make_user(ctx, "t@example.org", Role.TUTOR)
    await staff.update_staff(ctx, chief, uid, {"password": "another-long-password"}, ctx.clock())
    async with ctx.db.read() as conn:
        after = (await conn.execute(sa.select(audit_log.c.after).where(
            audit_log.c.entity == "user", audit_log.c.action == "update"))).scalar()
    assert after == {"password": "changed"}


@both_backends
async def test_the_safeguarding_chain_starts_with_a_dsl_and_is_stored_in_order(ctx: AppContext,
                                                                              chief: Principal) -> None:
    dsl = await make_user(ctx, "dsl@example.org", Role.DSL)
    deputy = await make_user(ctx, "deputy@example.org", Role.PROGRAMME_MANAGER)
    org = await org_settings.update_org(ctx, chief, {"safeguarding_chain": [dsl, deputy], "timezone": "Europe/Dublin",
                                                     "bank_holidays": [date(2026, 5, 25), date(2026, 4, 6)]},
                                        ctx.clock())
    assert (org["safeguarding_chain"], org["timezone"], org["bank_holidays"]) == (
        [dsl, deputy], "Europe/Dublin", ["2026-04-06", "2026-05-25"])


async def test_a_chain_not_starting_with_a_dsl_is_refused(ctx: AppContext, chief: Principal) -> None:
    deputy = await make_user(ctx, "deputy@example.org", Role.PROGRAMME_MANAGER)
    with pytest.raises(Invalid) as caught:
        await org_settings.update_org(ctx, chief, {"safeguarding_chain": [deputy]}, ctx.clock())
    assert (caught.value.code, caught.value.field) == ("chain_must_start_with_dsl", "safeguarding_chain[0]")


async def test_an_unknown_person_in_the_chain_is_refused_on_their_position(ctx: AppContext,
                                                                          chief: Principal) -> None:
    dsl = await make_user(ctx, "dsl@example.org", Role.DSL)
    with pytest.raises(Invalid) as caught:
        await org_settings.update_org(ctx, chief, {"safeguarding_chain": [dsl, 999]}, ctx.clock())
    assert (caught.value.code, caught.value.field) == ("invalid_field", "safeguarding_chain[1]")


async def test_an_unknown_time_zone_is_refused(ctx: AppContext, chief: Principal) -> None:
    with pytest.raises(Invalid) as caught:
        await org_settings.update_org(ctx, chief, {"timezone": "Mars/Olympus"}, ctx.clock())
    assert (caught.value.code, caught.value.field) == ("unknown_timezone", "timezone")


async def test_the_dsl_at_the_head_of_the_chain_cannot_be_deactivated(ctx: AppContext, chief: Principal) -> None:
    dsl = await make_user(ctx, "dsl@example.org", Role.DSL)
    await org_settings.update_org(ctx, chief, {"safeguarding_chain": [dsl]}, ctx.clock())
    with pytest.raises(Conflict) as caught:
        await staff.update_staff(ctx, chief, dsl, {"active": False}, ctx.clock())
    assert caught.value.code == "in_safeguarding_chain"


async def test_an_organisation_change_is_audited_with_before_and_after(ctx: AppContext, chief: Principal) -> None:
    await org_settings.update_org(ctx, chief, {"name": "Northshire Tutoring"}, ctx.clock())
    async with ctx.db.read() as conn:
        row = (await conn.execute(sa.select(audit_log.c.before, audit_log.c.after)
                                  .where(audit_log.c.entity == "organisation"))).one()
    assert (row.before, row.after) == ({"name": "My organisation"}, {"name": "Northshire Tutoring"})
