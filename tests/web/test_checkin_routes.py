"""The participant's scan endpoints over HTTP: identification, cookies, rate limits, privacy and concurrency."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import sqlalchemy as sa

from checkin.clock import DrivenClock
from checkin.context import AppContext
from checkin.domain.model import Role
from checkin.domain.tokens import PURPOSE_PERSONAL, derive_key, personal_code
from checkin.storage.tables import checkin_attempts, mark_history, marks
from tests import factories
from tests.conftest import both_backends, make_user, sign_in

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # the clock fixture starts at 08:00, when check-in opens
NAMES = ("Ottoline", "Brackwater", "Peregrine", "Ashdown", "Wilhelmina", "Farthingale")
JSON = {"content-type": "application/json"}


@dataclass
class Room:
    app: Any
    ctx: AppContext
    session_id: int
    other_session_id: int
    ottoline: int
    peregrine: int
    outsider: int
    tutor_email: str


@pytest.fixture
async def room(app: Any, ctx: AppContext) -> Room:
    tutor = await make_user(ctx, "tamsin.tutor@example.org", Role.TUTOR, "Tamsin Tutor")
    other_tutor = await make_user(ctx, "oscar.other@example.org", Role.TUTOR, "Oscar Other")
    programme_id = await factories.programme(ctx, name="Leaders", code_set="plain", preset="", qr_rotation_seconds=15)
    ottoline = await factories.person(ctx, "Ottoline", "Brackwater")
    peregrine = await factories.person(ctx, "Peregrine", "Ashdown")
    outsider = await factories.person(ctx, "Wilhelmina", "Farthingale")
    session_id = await factories.session(ctx, programme_id, START, tutor_ids=(tutor,),
                                         person_ids=(ottoline, peregrine), title="Leading change")
    other = await factories.session(ctx, programme_id, START, tutor_ids=(other_tutor,), person_ids=(outsider,),
                                    title="Other room")
    return Room(app, ctx, session_id, other, ottoline, peregrine, outsider, "tamsin.tutor@example.org")


@asynccontextmanager
async def new_client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


async def shown_code(room: Room, session_id: int | None = None) -> dict[str, str]:
    """What the projector shows now, read through the display endpoint as the session's tutor."""
    async with new_client(room.app) as tutor:
        await sign_in(tutor, room.tutor_email if session_id is None else "oscar.other@example.org")
        r = await tutor.get(f"/api/sessions/{session_id or room.session_id}/display")
        assert r.status_code == 200, r.text
    fragment = dict(parse_qsl(urlsplit(r.json()["code"]["url"]).fragment))
    return {"session_id": fragment["s"], "token": fragment["t"]}


async def scan(phone: httpx.AsyncClient, code: dict[str, str], **extra: Any) -> httpx.Response:
    body = {"session_id": int(code["session_id"]), "token": code["token"], **extra}
    return await phone.post("/api/checkin/scan", json=body)


async def identify(phone: httpx.AsyncClient, session_id: int, ticket: str, **who: str) -> httpx.Response:
    return await phone.post("/api/checkin/identify", json={"session_id": session_id, "ticket": ticket, **who})


def cookie_headers(response: httpx.Response) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in response.headers.get_list("set-cookie")}


async def identified(room: Room, phone: httpx.AsyncClient, email: str) -> httpx.Response:
    """Takes `phone` through its first scan and identification, so it holds the server's own cookies."""
    ticket = (await scan(phone, await shown_code(room))).json()["error"]["ticket"]
    return await identify(phone, room.session_id, ticket, email=email)


async def count(ctx: AppContext, table: sa.Table, *where: Any) -> int:
    async with ctx.db.read() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(table).where(*where))).scalar_one())


async def test_a_new_phone_identifies_once_by_email_and_later_scans_are_one_step(room: Room) -> None:
    code = await shown_code(room)
    async with new_client(room.app) as phone:
        first = await scan(phone, code)
        assert (first.status_code, first.json()["error"]["code"]) == (401, "identify_needed")
        ticket = first.json()["error"]["ticket"]
        confirmed = await identify(phone, room.session_id, ticket, email="OTTOLINE.brackwater@example.org ")
        assert confirmed.status_code == 200, confirmed.text
        assert confirmed.json() | {"at": None} == {
            "outcome": "checked_in", "message": "Checked in at 08:00", "at": None, "first_at": None,
            "minutes_late": 0, "flagged": False, "session": {"title": "Leading change"},
            "person": {"first_name": "Ottoline"}}
        again = await scan(phone, code)
    assert (again.status_code, again.json()["outcome"]) == (200, "already_checked_in")
    assert again.json()["message"] == "Already checked in at 08:00"
    assert await count(room.ctx, mark_history) == 1


async def test_a_phone_identifies_with_the_personal_code_on_the_invitation(room: Room) -> None:
    typed = personal_code(derive_key(room.ctx.secret, PURPOSE_PERSONAL), room.peregrine).lower()
    async with new_client(room.app) as phone:
        ticket = (await scan(phone, await shown_code(room))).json()["error"]["ticket"]
        r = await identify(phone, room.session_id, ticket, code=f"{typed[:4]}-{typed[4:]}")
    assert (r.status_code, r.json()["person"]["first_name"]) == (200, "Peregrine")


async def test_the_phones_cookies_are_httponly_lax_scoped_and_long_lived(room: Room) -> None:
    async with new_client(room.app) as phone:
        first = await scan(phone, await shown_code(room))
        device = cookie_headers(first)["checkin_device"]
        ticket = first.json()["error"]["ticket"]
        person = cookie_headers(await identify(phone, room.session_id, ticket, email="peregrine.ashdown@example.org"))
    for header in (device, person["checkin_person"]):
        lowered = header.lower()
        assert "httponly" in lowered
        assert "samesite=lax" in lowered
        assert "path=/api/checkin" in lowered
        assert f"max-age={180 * 86400}" in lowered


async def test_a_ticket_is_refused_from_another_phone(room: Room) -> None:
    async with new_client(room.app) as phone, new_client(room.app) as other:
        ticket = (await scan(phone, await shown_code(room))).json()["error"]["ticket"]
        await scan(other, await shown_code(room))
        r = await identify(other, room.session_id, ticket, email="ottoline.brackwater@example.org")
    assert (r.status_code, r.json()["error"]["code"]) == (403, "identify_expired")


async def test_a_ticket_lasts_five_minutes_so_a_slow_typist_is_asked_to_scan_again(room: Room,
                                                                                    clock: DrivenClock) -> None:
    async with new_client(room.app) as phone:
        ticket = (await scan(phone, await shown_code(room))).json()["error"]["ticket"]
        clock.advance(minutes=5)
        r = await identify(phone, room.session_id, ticket, email="ottoline.brackwater@example.org")
    assert (r.status_code, r.json()["error"]["message"]) == (403, "That took too long — scan the screen again.")


async def test_an_email_not_on_the_roster_is_refused_like_any_other_and_stored_without_it(room: Room) -> None:
    async with new_client(room.app) as phone:
        ticket = (await scan(phone, await shown_code(room))).json()["error"]["ticket"]
        unknown = await identify(phone, room.session_id, ticket, email="nobody@example.org")
        elsewhere = await identify(phone, room.session_id, ticket, email="wilhelmina.farthingale@example.org")
    assert unknown.json() == elsewhere.json()
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (403, "not_recognised")
    async with room.ctx.db.read() as conn:
        attempts = (await conn.execute(sa.select(checkin_attempts))).all()
    assert [(a.outcome, a.person_id) for a in attempts] == [("not_recognised", None)] * 2
    assert not any("example.org" in str(value) for a in attempts for value in a)


async def test_identifying_needs_exactly_one_of_email_and_code(room: Room) -> None:
    async with new_client(room.app) as phone:
        r = await identify(phone, room.session_id, "x", email="a@example.org", code="ABCD1234")
    assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_field")


async def test_forgetting_the_phone_makes_the_next_scan_ask_again(room: Room) -> None:
    async with new_client(room.app) as phone:
        await identified(room, phone, "ottoline.brackwater@example.org")
        me = await phone.get("/api/checkin/me")
        assert me.json() == {"remembered": True, "first_name": "Ottoline"}
        await phone.post("/api/checkin/forget", json={})
        assert (await phone.get("/api/checkin/me")).json() == {"remembered": False, "first_name": None}
        r = await scan(phone, await shown_code(room))
    assert r.json()["error"]["code"] == "identify_needed"


async def test_a_stream_of_scans_from_one_phone_is_rate_limited_with_retry_after(room: Room) -> None:
    code = {"session_id": str(room.session_id), "token": "guessed-token"}
    async with new_client(room.app) as phone:
        answers = [await scan(phone, code) for _ in range(25)]
    assert [a.status_code for a in answers[:20]] == [403] * 20
    limited = answers[20]
    assert (limited.status_code, limited.json()["error"]["code"]) == (429, "rate_limited")
    assert int(limited.headers["retry-after"]) >= 1
    assert {a.status_code for a in answers[20:]} == {429}
    # one row for the run of refusals, not one per request
    assert await count(room.ctx, checkin_attempts, checkin_attempts.c.outcome == "rate_limited") == 1


async def test_guessing_identities_from_one_phone_is_rate_limited(room: Room) -> None:
    async with new_client(room.app) as phone:
        ticket = (await scan(phone, await shown_code(room))).json()["error"]["ticket"]
        answers = [await identify(phone, room.session_id, ticket, email=f"guess{n}@example.org") for n in range(8)]
    assert [a.status_code for a in answers] == [403] * 6 + [429, 429]


async def test_the_rate_limit_lets_a_phone_back_in_once_its_bucket_refills(room: Room, clock: DrivenClock) -> None:
    code = {"session_id": str(room.session_id), "token": "guessed-token"}
    async with new_client(room.app) as phone:
        for _ in range(21):
            await scan(phone, code)
        clock.advance(seconds=2)
        r = await scan(phone, code)
    assert r.status_code == 403


@both_backends
async def test_fifty_participants_checking_in_at_once_are_each_recorded_exactly_once(app: Any, ctx: AppContext) -> None:
    programme_id = await factories.programme(ctx, name="Conference", code_set="plain", preset="")
    people = [await factories.person(ctx, f"Delegate{n}", "Example") for n in range(50)]
    tutor = await make_user(ctx, "tamsin.tutor@example.org", Role.TUTOR)
    session_id = await factories.session(ctx, programme_id, START, tutor_ids=(tutor,), person_ids=tuple(people),
                                         kind="conference", title="Annual conference")
    room = Room(app, ctx, session_id, 0, 0, 0, 0, "tamsin.tutor@example.org")
    code = await shown_code(room)
    phones = [httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
              for _ in people]
    try:
        asked = await asyncio.gather(*(scan(p, code) for p in phones))
        assert {r.status_code for r in asked} == {401}
        confirmed = await asyncio.gather(*(
            identify(p, session_id, r.json()["error"]["ticket"], email=f"delegate{n}.example@example.org")
            for n, (p, r) in enumerate(zip(phones, asked, strict=True))))
        assert [r.json().get("outcome") for r in confirmed] == ["checked_in"] * 50
        repeats = await asyncio.gather(*(scan(p, code) for p in phones + phones))
        assert {r.json()["outcome"] for r in repeats} == {"already_checked_in"}
    finally:
        await asyncio.gather(*(p.aclose() for p in phones))
    async with ctx.db.read() as conn:
        history = (await conn.execute(sa.select(mark_history.c.person_id, mark_history.c.source))).all()
    assert sorted(h.person_id for h in history) == sorted(people)
    assert {h.source for h in history} == {"qr"}
    assert await count(ctx, marks, marks.c.session_id == session_id) == 50


async def test_no_public_answer_names_anyone_on_a_failed_or_unidentified_attempt(room: Room,
                                                                                clock: DrivenClock) -> None:
    live = await shown_code(room)
    elsewhere = await shown_code(room, room.other_session_id)
    answers: list[httpx.Response] = []
    async with new_client(room.app) as stranger, new_client(room.app) as forged_phone:
        answers.append(await scan(stranger, live))  # an unidentified phone
        ticket = answers[-1].json()["error"]["ticket"]
        answers.append(await identify(stranger, room.session_id, ticket, email="nobody@example.org"))
        answers.append(await identify(stranger, room.session_id, ticket, code="ZZZZZZZZ"))
        answers.append(await identify(stranger, room.session_id, "forged-ticket", email="x@example.org"))
        answers.append(await scan(stranger, {**live, "token": live["token"][:-2] + "AA"}))
        answers.append(await scan(stranger, {**elsewhere, "session_id": str(room.session_id)}))
        answers.append(await scan(stranger, {**live, "session_id": "999999"}))
        answers.append(await stranger.get("/api/checkin/me"))
        forged_phone.cookies.set("checkin_person", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", path="/api/checkin")
        answers.append(await scan(forged_phone, live))
        answers.append(await forged_phone.get("/api/checkin/me"))
        clock.advance(minutes=1)
        answers.append(await scan(stranger, live))  # expired
        for path in (f"/api/sessions/{room.session_id}/display", f"/api/sessions/{room.session_id}/arrivals",
                     f"/api/sessions/{room.session_id}/poster", f"/api/people/{room.ottoline}/badge",
                     f"/api/people/{room.ottoline}/personal-code"):
            answers.append(await stranger.get(path))
        answers.append(await stranger.post(f"/api/sessions/{room.session_id}/badge", json={"code": "X"}))
    assert [a.status_code for a in answers[-6:]] == [401] * 6
    for answer in answers:
        assert answer.status_code != 200 or answer.json().get("remembered") is False, answer.text
        text = answer.text.lower()
        assert not [n for n in NAMES if n.lower() in text], answer.text
        assert "example.org" not in text, answer.text


async def test_a_code_for_a_session_that_does_not_exist_is_refused_without_an_error(room: Room) -> None:
    async with new_client(room.app) as phone:
        r = await scan(phone, {"session_id": "424242", "token": (await shown_code(room))["token"]})
    assert (r.status_code, r.json()["error"]["code"]) == (403, "token_wrong_session")
    async with room.ctx.db.read() as conn:
        attempt = (await conn.execute(sa.select(checkin_attempts))).one()
    assert (attempt.session_id, attempt.outcome) == (None, "token_wrong_session")
