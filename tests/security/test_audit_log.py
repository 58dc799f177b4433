"""The audit log: append-only in the app and in the database, complete for marks and views, searchable."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from checkin.app import apis
from checkin.context import AppContext
from checkin.domain.model import MarkStatus, Role
from checkin.domain.principal import Principal
from checkin.storage.audit import record
from checkin.storage.database import Tx
from checkin.storage.tables import audit_log
from tests import factories
from tests.conftest import both_backends
from tests.security.records import alert, bearer, mark, principal

CHECKIN = Path(__file__).resolve().parent.parent.parent / "checkin"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_no_route_writes_to_the_audit_log_other_than_by_reading_it() -> None:
    audit_routes = [(ep.method, ep.path) for a in apis() for ep in a.endpoints if "audit" in ep.path]
    assert audit_routes and all(method == "GET" for method, _ in audit_routes)


def test_no_code_in_the_app_updates_or_deletes_audit_entries() -> None:
    changing = re.compile(r"(update|delete)\(\s*audit_log\b|(UPDATE|DELETE FROM)\s+audit_log\b")
    offenders = [str(p.relative_to(CHECKIN)) for p in CHECKIN.rglob("*.py")
                 if "migrations" not in p.parts and changing.search(p.read_text())]
    assert offenders == []


async def _one_entry(ctx: AppContext) -> None:
    async def work(tx: Tx) -> None:
        await record(tx.conn, START, None, "create", "person", 1, org_id=ctx.extras["org_id"], after={"x": 1})

    await ctx.db.write(work)


@both_backends
async def test_the_database_refuses_to_update_an_audit_entry(ctx: AppContext) -> None:
    await _one_entry(ctx)

    async def tamper(tx: Tx) -> None:
        await tx.conn.execute(sa.update(audit_log).values(actor="someone else"))

    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        await ctx.db.write(tamper)


@both_backends
async def test_the_database_refuses_to_delete_an_audit_entry(ctx: AppContext) -> None:
    await _one_entry(ctx)

    async def tamper(tx: Tx) -> None:
        await tx.conn.execute(sa.delete(audit_log))

    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        await ctx.db.write(tamper)
    async with ctx.db.read() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(audit_log))).scalar_one() == 1


@both_backends
async def test_a_mark_change_is_audited_with_who_when_before_and_after(ctx: AppContext) -> None:
    tutor = await principal(ctx, "tess.tutor@example.org", Role.TUTOR, "Tess Tutor")
    ava = await factories.person(ctx, "Ava", "Example")
    programme_id = await factories.programme(ctx)
    session_id = await factories.session(ctx, programme_id, START, tutor_ids=(tutor.user_id or 0,),
                                         person_ids=(ava,))
    await mark(ctx, session_id, ava, tutor, START, MarkStatus.ABSENT_UNAUTHORISED)
    await mark(ctx, session_id, ava, tutor, START + timedelta(minutes=7), MarkStatus.LATE,
               arrived_at=START + timedelta(minutes=7))

    async with ctx.db.read() as conn:
        rows = (await conn.execute(sa.select(audit_log).where(audit_log.c.entity == "mark")
                                   .order_by(audit_log.c.id))).all()
    first, second = rows
    assert (first.before, first.after["status"]) == (None, "absent_unauthorised")
    assert (second.before["status"], second.after["status"]) == ("absent_unauthorised", "late")
    assert (second.actor_user_id, second.at, second.person_id, second.session_id) == (
        tutor.user_id, START + timedelta(minutes=7), ava, session_id)


async def _audit_entries(ctx: AppContext, **where: Any) -> list[Any]:
    async with ctx.db.read() as conn:
        q = sa.select(audit_log)
        for name, value in where.items():
            q = q.where(audit_log.c[name] == value)
        return list((await conn.execute(q)).all())


async def test_viewing_emergency_contacts_is_audited(ctx: AppContext, as_admin: httpx.AsyncClient) -> None:
    ava = await factories.person(ctx, "Ava", "Example")
    await factories.contact(ctx, ava, "emergency", "Pat Example", phone="07700 900123")
    response = await as_admin.get(f"/api/people/{ava}/contacts")
    assert response.status_code == 200
    assert len(await _audit_entries(ctx, action="view", entity="emergency_contacts", person_id=ava)) == 1


async def test_viewing_a_safeguarding_alert_is_audited(ctx: AppContext, as_admin: httpx.AsyncClient) -> None:
    ava = await factories.person(ctx, "Ava", "Example")
    alert_id = await alert(ctx, ava, START)
    response = await as_admin.get(f"/api/alerts/{alert_id}")
    assert response.status_code == 200
    assert len(await _audit_entries(ctx, action="view", entity="alert", entity_id=str(alert_id))) == 1


@pytest.fixture
async def history(ctx: AppContext) -> dict[str, Any]:
    """A morning of marks by two tutors in two sessions."""
    tess = await principal(ctx, "tess.tutor@example.org", Role.TUTOR, "Tess Tutor")
    tom = await principal(ctx, "tom.tutor@example.org", Role.TUTOR, "Tom Tutor")
    ava = await factories.person(ctx, "Ava", "Example")
    ben = await factories.person(ctx, "Ben", "Sample")
    programme_id = await factories.programme(ctx)
    morning = await factories.session(ctx, programme_id, START, tutor_ids=(tess.user_id or 0,), person_ids=(ava, ben))
    later = await factories.session(ctx, programme_id, START + timedelta(hours=2), tutor_ids=(tom.user_id or 0,),
                                    person_ids=(ava,))
    await mark(ctx, morning, ava, tess, START)
    await mark(ctx, morning, ben, tess, START + timedelta(minutes=1))
    await mark(ctx, later, ava, tom, START + timedelta(hours=2))
    return {"tess": tess, "tom": tom, "ava": ava, "ben": ben, "morning": morning, "later": later}


async def _search(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/api/audit", params={"entity": "mark", **params})
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def test_the_audit_search_finds_a_persons_entries(as_admin: httpx.AsyncClient, history: dict[str, Any]) -> None:
    found = await _search(as_admin, person_id=history["ava"])
    assert {e["session_id"] for e in found["entries"]} == {history["morning"], history["later"]}


async def test_the_audit_search_finds_a_sessions_entries(as_admin: httpx.AsyncClient,
                                                         history: dict[str, Any]) -> None:
    found = await _search(as_admin, session_id=history["morning"])
    assert sorted(e["person_id"] for e in found["entries"]) == sorted([history["ava"], history["ben"]])


async def test_the_audit_search_finds_an_actors_entries_by_id_or_by_name(
        as_admin: httpx.AsyncClient, history: dict[str, Any]) -> None:
    by_id = await _search(as_admin, actor_user_id=history["tom"].user_id)
    by_name = await _search(as_admin, actor="TOM tut")
    assert [e["session_id"] for e in by_id["entries"]] == [e["session_id"] for e in by_name["entries"]] == [
        history["later"]]


async def test_the_audit_search_takes_a_time_range_newest_first(as_admin: httpx.AsyncClient,
                                                                 history: dict[str, Any]) -> None:
    found = await _search(as_admin, since=START.isoformat(), until=(START + timedelta(hours=1)).isoformat())
    assert [e["person_id"] for e in found["entries"]] == [history["ben"], history["ava"]]
    assert found["total"] == 2


async def test_the_audit_search_pages(as_admin: httpx.AsyncClient,
                                      history: dict[str, Any]) -> None:
    first = await _search(as_admin, limit=2)
    rest = await _search(as_admin, limit=2, offset=2)
    assert (len(first["entries"]), len(rest["entries"]), first["total"]) == (2, 1, 3)


async def test_a_search_is_itself_audited(ctx: AppContext, as_admin: httpx.AsyncClient,
                                          history: dict[str, Any]) -> None:
    await _search(as_admin, person_id=history["ava"])
    views = await _audit_entries(ctx, action="view", entity="audit_log")
    assert [v.person_id for v in views] == [history["ava"]]


async def test_the_audit_search_never_shows_another_organisations_entries(
        ctx: AppContext, as_admin: httpx.AsyncClient, history: dict[str, Any]) -> None:
    outsider = Principal(None, ctx.extras["org_id"] + 1, Role.ADMIN, "elsewhere", "system")

    async def foreign(tx: Tx) -> None:
        await tx.conn.execute(sa.text("INSERT INTO organisations (id, name, timezone, la_ap_address, "
                                      "safeguarding_chain, bank_holidays, ap_office_email, created_at) VALUES "
                                      "(:id, 'Elsewhere', 'Europe/London', '', '[]', '[]', '', :at)"),
                              {"id": outsider.org_id, "at": START.replace(tzinfo=None)})
        await record(tx.conn, START, outsider, "mark", "mark", 99, person_id=history["ava"])

    await ctx.db.write(foreign)
    found = await _search(as_admin, person_id=history["ava"])
    assert all(e["entity_id"] != "99" for e in found["entries"]) and found["total"] == 2


async def test_the_dsl_can_search_the_audit_log_and_a_tutor_cannot(ctx: AppContext, client: httpx.AsyncClient,
                                                                    history: dict[str, Any]) -> None:
    dsl = await bearer(ctx, "dee.dsl@example.org", Role.DSL)
    tutor = await bearer(ctx, "tia.tutor@example.org", Role.TUTOR)
    allowed = await client.get("/api/audit", headers=dsl)
    refused = await client.get("/api/audit", headers=tutor)
    assert (allowed.status_code, refused.status_code, refused.json()["error"]["code"]) == (200, 403, "forbidden")
