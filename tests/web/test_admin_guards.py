"""Every admin write is refused, with nothing written, without CSRF, without credentials, and on bad input."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from checkin.context import AppContext
from checkin.domain.model import Role
from checkin.storage import tables as t
from checkin.storage.database import Tx
from tests import factories
from tests.conftest import make_user

WATCHED = (t.organisations, t.users, t.programmes, t.cohorts, t.sessions, t.session_tutors, t.roster, t.people,
           t.contacts, t.enrolments, t.deadlines, t.tasks, t.school_history, t.audit_log)
NINE, TEN = "2026-03-02T09:00:00+00:00", "2026-03-02T10:00:00+00:00"


@pytest.fixture
async def world(ctx: AppContext, admin: dict[str, str]) -> dict[str, int]:
    programme = await factories.programme(ctx, policy={})
    spare = await factories.programme(ctx, name="Spare", preset="coaching", code_set="plain")
    tutor = await make_user(ctx, "tutor@example.org", Role.TUTOR)
    person = await factories.person(ctx)
    contact = await factories.contact(ctx, person, "emergency", "Carol Example", phone="07700 900123")
    session = await factories.session(ctx, programme, datetime(2026, 3, 2, 9, 0, tzinfo=UTC), tutor_ids=(tutor,),
                                      person_ids=(person,))
    enrolment = await _enrol(ctx, person, programme)
    return {"programme": programme, "spare": spare, "tutor": tutor, "person": person, "contact": contact,
            "session": session, "enrolment": enrolment}


async def _enrol(ctx: AppContext, person: int, programme: int) -> int:
    async def work(tx: Tx) -> int:
        return int((await tx.conn.execute(sa.insert(t.enrolments).values(
            person_id=person, programme_id=programme, status="active", updated_at=ctx.clock(),
        ).returning(t.enrolments.c.id))).scalar_one())

    return await ctx.db.write(work)


def writes(w: dict[str, int]) -> list[tuple[str, str, dict[str, Any] | None]]:
    """One valid request for every admin write."""
    return [
        ("PATCH", "/api/org", {"name": "Renamed"}),
        ("POST", "/api/staff", {"email": "new@example.org", "name": "New Person", "role": "tutor"}),
        ("PATCH", f"/api/staff/{w['tutor']}", {"name": "Renamed"}),
        ("POST", "/api/programmes", {"name": "New programme", "preset": "coaching"}),
        ("PATCH", f"/api/programmes/{w['programme']}", {"grace_minutes": 5}),
        ("POST", f"/api/programmes/{w['programme']}/cohorts", {"name": "Spring"}),
        ("POST", "/api/sessions", {"programme_id": w["programme"], "title": "New", "kind": "workshop",
                                   "mode": "remote", "starts_at": NINE, "ends_at": TEN}),
        ("PATCH", f"/api/sessions/{w['session']}", {"title": "Renamed"}),
        ("POST", f"/api/sessions/{w['session']}/cancel", {"cancelled_by": "provider", "reason": "Snow"}),
        ("PUT", f"/api/sessions/{w['session']}/roster", {"person_ids": []}),
        ("POST", "/api/people", {"first_name": "Ben", "last_name": "Sample"}),
        ("PATCH", f"/api/people/{w['person']}", {"school": "Valley School"}),
        ("POST", f"/api/people/{w['person']}/contacts", {"kind": "attendance", "name": "Office",
                                                          "email": "office@school.example.org"}),
        ("PATCH", f"/api/contacts/{w['contact']}", {"name": "Carol Sample"}),
        ("DELETE", f"/api/contacts/{w['contact']}", None),
        ("POST", f"/api/people/{w['person']}/enrolments", {"programme_id": w["spare"]}),
        ("PATCH", f"/api/enrolments/{w['enrolment']}", {"status": "deferred"}),
    ]


async def snapshot(ctx: AppContext) -> dict[str, list[str]]:
    async with ctx.db.read() as conn:
        return {table.name: sorted(repr(tuple(r)) for r in (await conn.execute(sa.select(table))).all())
                for table in WATCHED}


@pytest.fixture
async def stranger(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


def _outcome(r: httpx.Response) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["code"]


async def test_every_admin_write_succeeds_with_a_csrf_header(ctx: AppContext, client: httpx.AsyncClient,
                                                            admin: dict[str, str], world: dict[str, int]) -> None:
    statuses = [(m, p, (await client.request(m, p, json=b, headers=admin)).status_code)
                for m, p, b in writes(world)]
    assert [s for s in statuses if s[2] not in (200, 201)] == []


async def test_every_admin_write_without_the_csrf_header_is_refused_and_writes_nothing(
        ctx: AppContext, client: httpx.AsyncClient, admin: dict[str, str], world: dict[str, int]) -> None:
    before = await snapshot(ctx)
    outcomes = [_outcome(await client.request(m, p, json=b)) for m, p, b in writes(world)]
    assert outcomes == [(403, "csrf_failed")] * len(outcomes)
    assert await snapshot(ctx) == before


async def test_every_admin_write_with_a_wrong_csrf_token_is_refused(
        ctx: AppContext, client: httpx.AsyncClient, admin: dict[str, str], world: dict[str, int]) -> None:
    before = await snapshot(ctx)
    outcomes = [_outcome(await client.request(m, p, json=b, headers={"x-csrf-token": "forged"}))
                for m, p, b in writes(world)]
    assert (outcomes, await snapshot(ctx) == before) == ([(403, "csrf_failed")] * len(outcomes), True)


async def test_every_admin_write_without_credentials_is_refused_and_writes_nothing(
        ctx: AppContext, stranger: httpx.AsyncClient, admin: dict[str, str], world: dict[str, int]) -> None:
    before = await snapshot(ctx)
    outcomes = [_outcome(await stranger.request(m, p, json=b, headers=admin)) for m, p, b in writes(world)]
    assert outcomes == [(401, "not_signed_in")] * len(outcomes)
    assert await snapshot(ctx) == before


async def test_every_admin_write_with_a_revoked_token_is_refused(
        ctx: AppContext, client: httpx.AsyncClient, stranger: httpx.AsyncClient, admin: dict[str, str],
        world: dict[str, int]) -> None:
    bearer = {"authorization": "Bearer ck_not-a-real-token"}
    before = await snapshot(ctx)
    outcomes = [_outcome(await stranger.request(m, p, json=b, headers=bearer)) for m, p, b in writes(world)]
    assert (outcomes, await snapshot(ctx) == before) == ([(401, "not_signed_in")] * len(outcomes), True)


async def test_every_admin_write_with_malformed_json_is_refused_and_writes_nothing(
        ctx: AppContext, client: httpx.AsyncClient, admin: dict[str, str], world: dict[str, int]) -> None:
    before = await snapshot(ctx)
    headers = admin | {"content-type": "application/json"}
    outcomes = [_outcome(await client.request(m, p, content=b'{"name": ', headers=headers))
                for m, p, b in writes(world) if b is not None]
    assert outcomes == [(400, "malformed_json")] * len(outcomes)
    assert await snapshot(ctx) == before


async def test_every_admin_write_over_the_body_limit_is_refused_and_writes_nothing(
        ctx: AppContext, client: httpx.AsyncClient, admin: dict[str, str], world: dict[str, int]) -> None:
    before = await snapshot(ctx)
    huge = b'{"name": "' + b"x" * (ctx.settings.max_body_bytes + 1) + b'"}'
    headers = admin | {"content-type": "application/json"}
    outcomes = [_outcome(await client.request(m, p, content=huge, headers=headers))
                for m, p, b in writes(world) if b is not None]
    assert outcomes == [(413, "body_too_large")] * len(outcomes)
    assert await snapshot(ctx) == before


async def test_every_admin_write_to_an_unknown_id_is_not_found_and_writes_nothing(
        ctx: AppContext, client: httpx.AsyncClient, admin: dict[str, str], world: dict[str, int]) -> None:
    unknown = {k: 987654 for k in world}
    before = await snapshot(ctx)
    outcomes = [(p, _outcome(await client.request(m, p, json=b, headers=admin)))
                for m, p, b in writes(unknown) if "987654" in p]
    assert outcomes == [(p, (404, "not_found")) for p, _ in outcomes]
    assert await snapshot(ctx) == before


WRONG_TYPES = [
    ("PATCH", "/api/org", {"safeguarding_chain": "everyone"}, "safeguarding_chain"),
    ("PATCH", "/api/org", {"bank_holidays": ["2026-13-01"]}, "bank_holidays[0]"),
    ("POST", "/api/staff", {"email": "not-an-email", "name": "X", "role": "tutor"}, "email"),
    ("POST", "/api/staff", {"email": "x@example.org", "name": "X", "role": "overlord"}, "role"),
    ("POST", "/api/programmes", {"name": 42}, "name"),
    ("POST", "/api/programmes", {"name": "X", "policy": []}, "policy"),
    ("POST", "/api/programmes", {"name": "X", "qr_rotation_seconds": "15"}, "qr_rotation_seconds"),
    ("POST", "/api/programmes", {"name": "X", "reasons": [{"reason": "Ill"}]}, "reasons[0].accepted"),
    ("POST", "/api/sessions", {"programme_id": "1", "title": "X", "kind": "workshop", "mode": "remote",
                               "starts_at": NINE, "ends_at": TEN}, "programme_id"),
    ("POST", "/api/sessions", {"programme_id": 1, "title": "X", "kind": "workshop", "mode": "remote",
                               "starts_at": "2026-03-02T09:00:00", "ends_at": TEN}, "starts_at"),
    ("POST", "/api/sessions", {"programme_id": 987654, "title": "X", "kind": "workshop", "mode": "remote",
                               "starts_at": NINE, "ends_at": TEN}, "programme_id"),
    ("PATCH", "/api/sessions/{session}", {"tutor_ids": [987654]}, "tutor_ids[0]"),
    ("PATCH", "/api/sessions/{session}", {"cohort_id": 987654}, "cohort_id"),
    ("PATCH", "/api/sessions/{session}", {"mandatory": "yes"}, "mandatory"),
    ("PATCH", "/api/sessions/{session}", {"tutor_ids": [True]}, "tutor_ids[0]"),
    ("POST", "/api/sessions/{session}/cancel", {"cancelled_by": "weather", "reason": "Snow"}, "cancelled_by"),
    ("PUT", "/api/sessions/{session}/roster", {"person_ids": ["1"]}, "person_ids[0]"),
    ("PUT", "/api/sessions/{session}/roster", {"person_ids": [987654]}, "person_ids[0]"),
    ("POST", "/api/people", {"first_name": "Ava", "last_name": "Example", "ap_pupil": 1}, "ap_pupil"),
    ("POST", "/api/people", {"first_name": "Ava", "last_name": "Example", "surname": "x"}, "surname"),
    ("PATCH", "/api/people/{person}", {"date_of_birth": "01/05/2012"}, "date_of_birth"),
    ("POST", "/api/people/{person}/contacts", {"kind": "emergency", "name": "C", "phone": "call me"}, "phone"),
    ("PATCH", "/api/contacts/{contact}", {"priority": -1}, "priority"),
    ("POST", "/api/people/{person}/enrolments", {"programme_id": 987654}, "programme_id"),
    ("PATCH", "/api/enrolments/{enrolment}", {"status": "expelled"}, "status"),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), WRONG_TYPES,
                         ids=[f"{m} {p} {f}" for m, p, _, f in WRONG_TYPES])
async def test_a_wrongly_typed_field_is_refused_on_that_field_and_writes_nothing(
        ctx: AppContext, client: httpx.AsyncClient, admin: dict[str, str], world: dict[str, int], method: str,
        path: str, body: dict[str, Any], field: str) -> None:
    before = await snapshot(ctx)
    r = await client.request(method, path.format(**world), json=body, headers=admin)
    assert (r.status_code, r.json()["error"]["field"]) == (422, field), r.text
    assert await snapshot(ctx) == before
