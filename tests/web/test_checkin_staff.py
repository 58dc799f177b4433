"""Staff side of QR check-in: the projector code, the printed poster, arrivals, badges and invitation codes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import sqlalchemy as sa

from checkin.clock import DrivenClock
from checkin.context import AppContext
from checkin.domain.model import Role
from checkin.domain.tokens import PURPOSE_BADGE, PURPOSE_PERSONAL, badge_code, derive_key, personal_code
from checkin.storage.tables import checkin_attempts, marks
from tests import factories
from tests.conftest import make_user, sign_in

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # the clock fixture starts at 08:00


@pytest.fixture
async def ids(ctx: AppContext) -> dict[str, int]:
    tutor = await make_user(ctx, "tamsin.tutor@example.org", Role.TUTOR, "Tamsin Tutor")
    other_tutor = await make_user(ctx, "oscar.other@example.org", Role.TUTOR, "Oscar Other")
    await make_user(ctx, "mona.manager@example.org", Role.PROGRAMME_MANAGER, "Mona Manager")
    await make_user(ctx, "eve.events@example.org", Role.EVENTS_TEAM, "Eve Events")
    programme = await factories.programme(ctx, name="Leaders", code_set="plain", preset="", qr_rotation_seconds=30)
    ava = await factories.person(ctx, "Ava", "Example")
    ben = await factories.person(ctx, "Ben", "Sample")
    cal = await factories.person(ctx, "Cal", "Elsewhere")
    session = await factories.session(ctx, programme, START, 120, tutor_ids=(tutor,), person_ids=(ava, ben),
                                      title="Leading change", location="Room 4")
    other = await factories.session(ctx, programme, START, tutor_ids=(other_tutor,), person_ids=(cal,))
    return {"session": session, "other": other, "ava": ava, "ben": ben, "cal": cal}


async def as_staff(client: httpx.AsyncClient, email: str = "tamsin.tutor@example.org") -> dict[str, str]:
    return await sign_in(client, email)


def badge_of(ctx: AppContext, person_id: int) -> str:
    return badge_code(derive_key(ctx.secret, PURPOSE_BADGE), person_id)


async def test_the_display_shows_a_code_for_the_session_that_lasts_the_programmes_rotation(
        client: httpx.AsyncClient, ids: dict[str, int], clock: DrivenClock) -> None:
    clock.now = datetime(2026, 3, 2, 8, 0, 10, tzinfo=UTC)
    await as_staff(client)
    r = await client.get(f"/api/sessions/{ids['session']}/display")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["session"]["title"] == "Leading change"
    assert (body["rotation_seconds"], body["counts"]) == (30, {"arrived": 0, "expected": 2})
    code = body["code"]
    assert (code["valid_from"], code["valid_until"]) == ("2026-03-02T08:00:00+00:00", "2026-03-02T08:00:30+00:00")
    assert body["refresh_in_ms"] == 20_050
    url = urlsplit(code["url"])
    assert (url.scheme, url.netloc, url.path) == ("http", "testserver", "/checkin.html")
    assert dict(parse_qsl(url.fragment)) == {"s": str(ids["session"]), "t": code["token"]}
    assert body["svg"].startswith("<svg") and body["image"].startswith("data:image/svg+xml;base64,")


async def test_the_display_code_changes_when_the_window_rotates(client: httpx.AsyncClient, ids: dict[str, int],
                                                               clock: DrivenClock) -> None:
    await as_staff(client)
    first = (await client.get(f"/api/sessions/{ids['session']}/display")).json()["code"]["token"]
    clock.advance(seconds=29)
    same = (await client.get(f"/api/sessions/{ids['session']}/display")).json()["code"]["token"]
    clock.advance(seconds=1)
    rotated = (await client.get(f"/api/sessions/{ids['session']}/display")).json()["code"]["token"]
    assert first == same != rotated


async def test_a_check_out_display_puts_the_direction_in_the_url(client: httpx.AsyncClient,
                                                                ids: dict[str, int]) -> None:
    await as_staff(client)
    r = await client.get(f"/api/sessions/{ids['session']}/display?direction=out")
    assert r.json()["code"]["url"].endswith("&d=out")


async def test_the_display_needs_a_staff_sign_in(client: httpx.AsyncClient, ids: dict[str, int]) -> None:
    r = await client.get(f"/api/sessions/{ids['session']}/display")
    assert (r.status_code, r.json()["error"]["code"]) == (401, "not_signed_in")


async def test_a_tutor_cannot_show_the_code_of_another_tutors_session(client: httpx.AsyncClient,
                                                                     ids: dict[str, int]) -> None:
    await as_staff(client)
    r = await client.get(f"/api/sessions/{ids['other']}/display")
    assert (r.status_code, r.json()["error"]["code"]) == (403, "not_your_session")


async def test_a_session_that_does_not_exist_is_not_found(client: httpx.AsyncClient, ids: dict[str, int]) -> None:
    await as_staff(client, "mona.manager@example.org")
    r = await client.get("/api/sessions/9999/poster")
    assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found")


async def test_the_poster_is_valid_from_checkin_opening_to_the_end_of_the_session(client: httpx.AsyncClient,
                                                                                 ids: dict[str, int]) -> None:
    await as_staff(client, "mona.manager@example.org")
    r = await client.get(f"/api/sessions/{ids['session']}/poster")
    code = r.json()["code"]
    assert (code["kind"], code["day"], code["valid_from"], code["valid_until"]) == (
        "poster", "2026-03-02", "2026-03-02T08:00:00+00:00", "2026-03-02T11:00:00+00:00")


async def test_a_poster_for_a_day_the_session_does_not_run_is_refused(client: httpx.AsyncClient,
                                                                     ids: dict[str, int]) -> None:
    await as_staff(client, "mona.manager@example.org")
    r = await client.get(f"/api/sessions/{ids['session']}/poster?day=2026-03-03")
    assert (r.status_code, r.json()["error"]["code"]) == (422, "no_checkin_that_day")


async def test_a_poster_code_checks_a_participant_in_later_in_the_day(client: httpx.AsyncClient, app: Any,
                                                                     ids: dict[str, int], clock: DrivenClock) -> None:
    await as_staff(client, "mona.manager@example.org")
    code = (await client.get(f"/api/sessions/{ids['session']}/poster")).json()["code"]
    clock.advance(minutes=70)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as phone:
        asked = await phone.post("/api/checkin/scan", json={"session_id": ids["session"], "token": code["token"]})
        ticket = asked.json()["error"]["ticket"]
        r = await phone.post("/api/checkin/identify", json={
            "session_id": ids["session"], "ticket": ticket, "email": "ava.example@example.org"})
    assert (r.status_code, r.json()["outcome"], r.json()["minutes_late"]) == (200, "late", 10)


async def test_arrivals_count_those_who_have_arrived_of_those_expected(client: httpx.AsyncClient, ctx: AppContext,
                                                                     ids: dict[str, int]) -> None:
    csrf = await as_staff(client)
    await client.post(f"/api/sessions/{ids['session']}/badge", json={"code": badge_of(ctx, ids["ava"])},
                      headers=csrf)
    r = await client.get(f"/api/sessions/{ids['session']}/arrivals")
    assert r.json() == {"arrived": 1, "expected": 2}


async def test_a_tutor_checks_a_participant_in_by_badge(client: httpx.AsyncClient, ctx: AppContext,
                                                       ids: dict[str, int]) -> None:
    csrf = await as_staff(client)
    typed = badge_of(ctx, ids["ben"]).lower()
    r = await client.post(f"/api/sessions/{ids['session']}/badge", json={"code": f"{typed[:5]}-{typed[5:]}"},
                          headers=csrf)
    assert r.status_code == 200, r.text
    assert (r.json()["outcome"], r.json()["name"], r.json()["message"]) == ("checked_in", "Ben Sample",
                                                                            "Checked in at 08:00")
    async with ctx.db.read() as conn:
        mark = (await conn.execute(sa.select(marks))).one()
    assert (mark.person_id, mark.source, mark.status, mark.actor_user_id is not None) == (
        ids["ben"], "badge", "present", True)


async def test_a_second_badge_scan_says_when_the_first_was(client: httpx.AsyncClient, ctx: AppContext,
                                                          ids: dict[str, int], clock: DrivenClock) -> None:
    csrf = await as_staff(client)
    url, body = f"/api/sessions/{ids['session']}/badge", {"code": badge_of(ctx, ids["ben"])}
    await client.post(url, json=body, headers=csrf)
    clock.advance(minutes=3)
    r = await client.post(url, json=body, headers=csrf)
    assert (r.json()["outcome"], r.json()["first_at"]) == ("already_checked_in", "2026-03-02T08:00:00+00:00")


async def test_a_badge_code_with_a_typo_is_refused_and_stored_as_a_failed_attempt(
        client: httpx.AsyncClient, ctx: AppContext, ids: dict[str, int]) -> None:
    csrf = await as_staff(client)
    good = badge_of(ctx, ids["ben"])
    typo = good[:3] + ("X" if good[3] != "X" else "Y") + good[4:]
    r = await client.post(f"/api/sessions/{ids['session']}/badge", json={"code": typo}, headers=csrf)
    assert (r.status_code, r.json()["error"]["code"]) == (422, "badge_invalid")
    async with ctx.db.read() as conn:
        attempt = (await conn.execute(sa.select(checkin_attempts))).one()
    assert (attempt.outcome, attempt.person_id, attempt.session_id) == ("badge_invalid", None, ids["session"])


async def test_a_badge_of_someone_not_on_the_roster_is_refused_naming_them_to_the_tutor(
        client: httpx.AsyncClient, ctx: AppContext, ids: dict[str, int]) -> None:
    csrf = await as_staff(client)
    r = await client.post(f"/api/sessions/{ids['session']}/badge", json={"code": badge_of(ctx, ids["cal"])},
                          headers=csrf)
    error = r.json()["error"]
    assert (r.status_code, error["code"], error["name"]) == (403, "not_on_roster", "Cal Elsewhere")


async def test_a_tutor_cannot_badge_people_into_another_tutors_session(client: httpx.AsyncClient, ctx: AppContext,
                                                                      ids: dict[str, int]) -> None:
    csrf = await as_staff(client)
    r = await client.post(f"/api/sessions/{ids['other']}/badge", json={"code": badge_of(ctx, ids["cal"])},
                          headers=csrf)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "not_your_session")


async def test_the_events_team_cannot_use_the_tutors_badge_endpoint(client: httpx.AsyncClient, ctx: AppContext,
                                                                   ids: dict[str, int]) -> None:
    csrf = await as_staff(client, "eve.events@example.org")
    r = await client.post(f"/api/sessions/{ids['session']}/badge", json={"code": badge_of(ctx, ids["ava"])},
                          headers=csrf)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden")


async def test_badge_scans_need_the_csrf_header(client: httpx.AsyncClient, ctx: AppContext,
                                               ids: dict[str, int]) -> None:
    await as_staff(client)
    r = await client.post(f"/api/sessions/{ids['session']}/badge", json={"code": badge_of(ctx, ids["ava"])})
    assert (r.status_code, r.json()["error"]["code"]) == (403, "csrf_failed")


async def test_a_tablet_typing_badge_codes_in_a_stream_is_rate_limited(client: httpx.AsyncClient,
                                                                      ids: dict[str, int]) -> None:
    csrf = await as_staff(client)
    codes = [(await client.post(f"/api/sessions/{ids['session']}/badge", json={"code": f"GUESS{n:05d}"},
                                headers=csrf)).status_code for n in range(61)]
    assert codes == [422] * 60 + [429]


async def test_staff_get_a_persons_badge_code_and_its_qr(client: httpx.AsyncClient, ctx: AppContext,
                                                        ids: dict[str, int]) -> None:
    await as_staff(client)
    r = await client.get(f"/api/people/{ids['ava']}/badge")
    body = r.json()
    assert (body["person_id"], body["name"], body["code"]) == (ids["ava"], "Ava Example", badge_of(ctx, ids["ava"]))
    assert body["svg"].startswith("<svg")


async def test_a_tutor_gets_no_badge_for_someone_outside_their_sessions(client: httpx.AsyncClient,
                                                                       ids: dict[str, int]) -> None:
    await as_staff(client)
    r = await client.get(f"/api/people/{ids['cal']}/badge")
    assert r.status_code == 403


async def test_managers_get_the_personal_code_for_an_invitation_and_tutors_do_not(
        client: httpx.AsyncClient, app: Any, ctx: AppContext, ids: dict[str, int]) -> None:
    await as_staff(client, "mona.manager@example.org")
    r = await client.get(f"/api/people/{ids['ava']}/personal-code")
    assert r.json() == {"person_id": ids["ava"],
                        "code": personal_code(derive_key(ctx.secret, PURPOSE_PERSONAL), ids["ava"])}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as tutor:
        await as_staff(tutor)
        assert (await tutor.get(f"/api/people/{ids['ava']}/personal-code")).status_code == 403


async def test_the_openapi_document_lists_the_check_in_endpoints_and_their_roles(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/api/openapi.json")).json()["paths"]
    assert "x-roles" not in paths["/api/checkin/scan"]["post"]
    assert paths["/api/sessions/{session_id}/badge"]["post"]["x-roles"] == ["admin", "programme_manager", "tutor"]
    assert {"/api/checkin/identify", "/api/checkin/me", "/api/checkin/forget", "/api/sessions/{session_id}/display",
            "/api/sessions/{session_id}/poster", "/api/sessions/{session_id}/arrivals",
            "/api/people/{person_id}/badge", "/api/people/{person_id}/personal-code"} <= set(paths)


async def test_a_late_badge_scan_after_the_start_is_late(client: httpx.AsyncClient, ctx: AppContext,
                                                        ids: dict[str, int], clock: DrivenClock) -> None:
    clock.now = START + timedelta(minutes=12)
    csrf = await as_staff(client)
    r = await client.post(f"/api/sessions/{ids['session']}/badge", json={"code": badge_of(ctx, ids["ava"])},
                          headers=csrf)
    assert (r.json()["outcome"], r.json()["minutes_late"]) == ("late", 12)
