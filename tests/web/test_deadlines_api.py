"""GET /api/deadlines: what is coming up and what each fired deadline did, for managers only."""

from __future__ import annotations

from datetime import timedelta

import httpx

from checkin.clock import DrivenClock
from checkin.context import AppContext
from checkin.domain.model import Role
from checkin.watcher.loop import Watcher
from tests.conftest import make_user, sign_in
from tests.watcher.scenarios import ApSession, ap_session


async def _fired_at_minute_15(ctx: AppContext, clock: DrivenClock) -> ApSession:
    start = clock() + timedelta(minutes=5)
    s = await ap_session(ctx, start)
    clock.now = start + timedelta(minutes=16, seconds=30)
    await Watcher(ctx).fire_due_now()
    return s


async def test_upcoming_deadlines_come_soonest_first_with_nothing_done_yet(
        client: httpx.AsyncClient, admin: dict[str, str], ctx: AppContext, clock: DrivenClock) -> None:
    s = await ap_session(ctx, clock() + timedelta(minutes=5))
    r = await client.get("/api/deadlines", params={"state": "upcoming"})
    assert r.status_code == 200
    assert [(d["rule_id"], d["session_id"], d["state"], d["fired_at"]) for d in r.json()] == [
        ("AP-NOSHOW", s.session_id, "upcoming", None), ("AP-REPORT", s.session_id, "upcoming", None),
        ("AP-DSL", s.session_id, "upcoming", None)]


async def test_a_fired_deadline_says_what_it_did_and_how_late(
        client: httpx.AsyncClient, admin: dict[str, str], ctx: AppContext, clock: DrivenClock) -> None:
    s = await _fired_at_minute_15(ctx, clock)
    r = await client.get("/api/deadlines", params={"state": "fired", "session_id": s.session_id})
    noshow = next(d for d in r.json() if d["rule_id"] == "AP-NOSHOW")
    assert noshow["summary"] == "Marked 1 no-show mark; raised 1 alert; set 1 task; sent 1 report."
    assert (noshow["state"], noshow["late_by_seconds"]) == ("fired", 90)
    assert [step["type"] for step in noshow["did"]] == ["mark", "alert", "task", "report"]


async def test_the_steps_listed_leave_out_the_report_contents(
        client: httpx.AsyncClient, admin: dict[str, str], ctx: AppContext, clock: DrivenClock) -> None:
    await _fired_at_minute_15(ctx, clock)
    r = await client.get("/api/deadlines", params={"state": "fired"})
    assert all("facts" not in step for d in r.json() for step in d["did"])


async def test_a_session_filter_keeps_to_that_session(
        client: httpx.AsyncClient, admin: dict[str, str], ctx: AppContext, clock: DrivenClock) -> None:
    one = await ap_session(ctx, clock() + timedelta(minutes=5), first="Ava")
    await ap_session(ctx, clock() + timedelta(minutes=6), first="Ben")
    r = await client.get("/api/deadlines", params={"session_id": one.session_id, "limit": 2})
    assert [d["session_id"] for d in r.json()] == [one.session_id, one.session_id]


async def test_a_session_not_in_the_organisation_is_not_found(
        client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    r = await client.get("/api/deadlines", params={"session_id": 9999})
    assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found")


async def test_an_unknown_state_is_refused(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    r = await client.get("/api/deadlines", params={"state": "someday"})
    assert (r.status_code, r.json()["error"]["code"], r.json()["error"]["field"]) == (422, "invalid_choice", "state")


async def test_a_limit_over_500_is_refused(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    r = await client.get("/api/deadlines", params={"limit": 501})
    assert (r.status_code, r.json()["error"]["field"]) == (422, "limit")


async def test_a_tutor_cannot_list_deadlines(client: httpx.AsyncClient, ctx: AppContext) -> None:
    await make_user(ctx, "tutor2@example.org", Role.TUTOR, "Tom Tutor")
    await sign_in(client, "tutor2@example.org")
    r = await client.get("/api/deadlines")
    assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden")


async def test_nobody_signed_in_cannot_list_deadlines(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/deadlines")
    assert (r.status_code, r.json()["error"]["code"]) == (401, "not_signed_in")


async def test_the_deadlines_page_is_served(client: httpx.AsyncClient) -> None:
    page = await client.get("/deadlines.html")
    script = await client.get("/js/deadlines.js")
    assert (page.status_code, script.status_code) == (200, 200)
    assert '<script type="module" src="/js/deadlines.js">' in page.text and "/api/deadlines" in script.text
