"""CSV mark imports through the API, by code or by time; all rows or none."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from checkin.clock import DrivenClock
from checkin.context import AppContext
from checkin.domain.model import Role
from checkin.storage.tables import mark_history, marks
from tests import factories
from tests.conftest import make_user, sign_in

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 09:00 in London (winter time)


@dataclass
class Desk:
    session_id: int
    ids: dict[str, int]
    headers: dict[str, str]


@pytest.fixture
async def desk(ctx: AppContext, client: httpx.AsyncClient, clock: DrivenClock) -> Desk:
    clock.now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    await make_user(ctx, "morgan.manager@example.org", Role.PROGRAMME_MANAGER, "Morgan Manager")
    headers = await sign_in(client, "morgan.manager@example.org")
    programme_id = await factories.programme(ctx, name="Apprentices", code_set="plain", preset="")
    ids = {"ava": await factories.person(ctx, "Ava", "Example", external_ref="L-001"),
           "ben": await factories.person(ctx, "Ben", "Sample", external_ref="L-002"),
           "cal": await factories.person(ctx, "Cal", "Instance", external_ref="L-003")}
    session_id = await factories.session(ctx, programme_id, START, external_ref="WS-0302", title="Workshop",
                                         kind="workshop", person_ids=tuple(ids.values()))
    return Desk(session_id, ids, headers)


async def send(client: httpx.AsyncClient, desk: Desk, text: str, **query: str) -> httpx.Response:
    return await client.post("/api/mark-imports", params=query, content=text.encode(),
                             headers={**desk.headers, "content-type": "text/csv"})


async def current(ctx: AppContext, desk: Desk) -> dict[str, Any]:
    async with ctx.db.read() as conn:
        rows = (await conn.execute(sa.select(marks).where(marks.c.session_id == desk.session_id))).all()
    names = {v: k for k, v in desk.ids.items()}
    return {names[r.person_id]: (r.status, r.code, r.minutes_late) for r in rows}


async def test_marks_import_by_code_with_the_session_and_person_references(ctx: AppContext,
                                                                          client: httpx.AsyncClient,
                                                                          desk: Desk) -> None:
    r = await send(client, desk, "session,person,code\nWS-0302,L-001,P\nWS-0302,ben.sample@example.org,U\n"
                                 "WS-0302,l-003,A\n")
    assert r.status_code == 200, r.text
    assert await current(ctx, desk) == {"ava": ("present", "P", 0), "ben": ("absent_unauthorised", "U", 0),
                                        "cal": ("absent_authorised", "A", 0)}


async def test_marks_import_by_time_earns_late_and_left_early(ctx: AppContext, client: httpx.AsyncClient,
                                                             desk: Desk) -> None:
    r = await send(client, desk, "person,arrived,departed\nL-001,09:07,\nL-002,08:58,09:50\nL-003,09:00,09:30\n",
                   session_id=str(desk.session_id))
    assert r.status_code == 200, r.text
    assert await current(ctx, desk) == {"ava": ("late", "L", 7), "ben": ("left_early", "E", 0),
                                        "cal": ("absent_unauthorised", "U", 0)}


async def test_a_preview_writes_nothing(ctx: AppContext, client: httpx.AsyncClient, desk: Desk) -> None:
    r = await send(client, desk, "person,code\nL-001,P\n", session_id=str(desk.session_id), preview="true")
    assert (r.status_code, r.json()["marks"][0]["status"]) == (200, "present")
    assert await current(ctx, desk) == {}


async def test_every_problem_is_listed_and_nothing_is_written(ctx: AppContext, client: httpx.AsyncClient,
                                                             desk: Desk) -> None:
    r = await send(client, desk, "session,person,code,arrived\nWS-0302,L-001,P,\nWS-0302,L-404,P,\n"
                                 "WS-0302,L-002,Q,\nWS-0302,L-001,P,\nWS-0302,L-003,,\nNOPE,L-003,P,\n")
    assert r.status_code == 422
    problems = [(p["row"], p["column"], p["code"]) for p in r.json()["error"]["problems"]]
    assert problems == [(3, "person", "not_on_roster"), (4, "code", "unknown_code"), (5, "person", "duplicate"),
                        (6, "code", "required"), (7, "session", "unknown_session")]
    async with ctx.db.read() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(mark_history))).scalar() == 0


async def test_an_absence_code_with_an_arrival_time_is_refused(client: httpx.AsyncClient, desk: Desk) -> None:
    r = await send(client, desk, "person,code,arrived\nL-003,A,09:10\n", session_id=str(desk.session_id))
    assert [(p["row"], p["code"]) for p in r.json()["error"]["problems"]] == [(2, "times_with_absence")]


async def test_an_unknown_column_refuses_the_file(client: httpx.AsyncClient, desk: Desk) -> None:
    r = await send(client, desk, "person,colour\nL-001,blue\n", session_id=str(desk.session_id))
    assert r.status_code == 422
    assert r.json()["error"]["problems"][0]["code"] == "csv_unknown_column"


async def test_importing_the_same_file_twice_records_each_mark_once(ctx: AppContext, client: httpx.AsyncClient,
                                                                   desk: Desk) -> None:
    text = "person,code\nL-001,P\nL-002,L\n"
    await send(client, desk, text, session_id=str(desk.session_id))
    again = await send(client, desk, text, session_id=str(desk.session_id))
    assert again.json()["changed"] == 0
    async with ctx.db.read() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(mark_history))).scalar() == 2
