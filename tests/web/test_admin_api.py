"""The admin JSON API over HTTP: set-up flows, tutors kept to their own sessions, API tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from checkin.context import AppContext
from checkin.domain.model import Role
from checkin.storage.tables import audit_log, sessions
from tests import factories
from tests.conftest import make_user, sign_in

NINE = "2026-03-02T09:00:00+00:00"
TEN = "2026-03-02T10:00:00+00:00"


@pytest.fixture
async def other_client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


async def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def _programme(client: httpx.AsyncClient, csrf: dict[str, str], name: str = "AP Tuition") -> dict[str, Any]:
    return await _ok(await client.post("/api/programmes", json={"name": name, "preset": "ap_tuition"},
                                       headers=csrf), 201)


async def _session(client: httpx.AsyncClient, csrf: dict[str, str], programme_id: int, tutor_ids: list[int],
                   **extra: Any) -> dict[str, Any]:
    body = {"programme_id": programme_id, "title": "Maths 1:1", "kind": "ap_tuition", "mode": "face_to_face",
            "starts_at": NINE, "ends_at": TEN, "tutor_ids": tutor_ids} | extra
    return await _ok(await client.post("/api/sessions", json=body, headers=csrf), 201)


async def test_an_admin_sets_up_a_programme_with_people_and_a_session(client: httpx.AsyncClient,
                                                                      admin: dict[str, str]) -> None:
    programme = await _programme(client, admin)
    cohort = await _ok(await client.post(f"/api/programmes/{programme['id']}/cohorts",
                                         json={"name": "Spring", "starts_on": "2026-03-01"}, headers=admin), 201)
    tutor = await _ok(await client.post("/api/staff", json={"email": "tutor@example.org", "name": "Tom Tutor",
                                                            "role": "tutor", "password": "a-long-test-password"},
                                        headers=admin), 201)
    pupil = await _ok(await client.post("/api/people", json={"first_name": "Ava", "last_name": "Example",
                                                             "ap_pupil": True, "date_of_birth": "2012-05-01"},
                                        headers=admin), 201)
    await _ok(await client.post(f"/api/people/{pupil['id']}/enrolments",
                                json={"programme_id": programme["id"], "cohort_id": cohort["id"]}, headers=admin), 201)
    made = await _session(client, admin, programme["id"], [tutor["id"]], cohort_id=cohort["id"])
    roster = await _ok(await client.put(f"/api/sessions/{made['id']}/roster", json={"person_ids": [pupil["id"]]},
                                        headers=admin))
    shown = await _ok(await client.get(f"/api/sessions/{made['id']}"))
    assert [(p["name"], p["enrolment_status"]) for p in roster] == [("Ava Example", "active")]
    assert {k: shown[k] for k in ("programme_name", "status", "roster_count", "timezone", "starts_at")} == {
        "programme_name": "AP Tuition", "status": "scheduled", "roster_count": 1, "timezone": "Europe/London",
        "starts_at": NINE}
    assert [(t["id"], t["name"], t["checked_in_at"]) for t in shown["tutors"]] == [(tutor["id"], "Tom Tutor", None)]


async def test_rescheduling_over_http_moves_the_session_and_the_day_listing(client: httpx.AsyncClient,
                                                                           admin: dict[str, str]) -> None:
    programme = await _programme(client, admin)
    made = await _session(client, admin, programme["id"], [])
    await _ok(await client.patch(f"/api/sessions/{made['id']}", json={
        "starts_at": "2026-03-03T09:00:00+00:00", "ends_at": "2026-03-03T10:00:00+00:00"}, headers=admin))
    first = await _ok(await client.get("/api/sessions", params={"date": "2026-03-02"}))
    second = await _ok(await client.get("/api/sessions", params={"date": "2026-03-03"}))
    assert (first, [s["id"] for s in second]) == ([], [made["id"]])


async def test_presets_are_listed_with_policy_requirements_and_code_set(client: httpx.AsyncClient,
                                                                       admin: dict[str, str]) -> None:
    listed = await _ok(await client.get("/api/presets"))
    ap = next(p for p in listed if p["id"] == "ap_tuition")
    assert set(ap) == {"id", "name", "description", "policy", "requirements", "code_set"}
    assert (ap["code_set"], ap["requirements"][0]["rule"]) == ("dfe_2024", "AP-90")


async def test_a_broken_policy_is_refused_with_its_code_and_field(client: httpx.AsyncClient,
                                                                 admin: dict[str, str]) -> None:
    r = await client.post("/api/programmes", json={"name": "Odd", "policy": {"ack_minutes": 0}}, headers=admin)
    assert (r.status_code, r.json()["error"]["code"], r.json()["error"]["field"]) == (
        422, "negative_window", "policy.ack_minutes")
    assert await _ok(await client.get("/api/programmes")) == []


async def test_the_organisation_is_read_and_changed_by_an_admin(client: httpx.AsyncClient,
                                                               admin: dict[str, str]) -> None:
    changed = await _ok(await client.patch("/api/org", json={"name": "Northshire Tutoring",
                                                             "ap_office_email": "ap@northshire.example.org"},
                                           headers=admin))
    read = await _ok(await client.get("/api/org"))
    assert (changed["name"], read["ap_office_email"]) == ("Northshire Tutoring", "ap@northshire.example.org")


async def test_a_programme_manager_cannot_change_the_organisation(ctx: AppContext, client: httpx.AsyncClient,
                                                                 other_client: httpx.AsyncClient,
                                                                 admin: dict[str, str]) -> None:
    await make_user(ctx, "pm@example.org", Role.PROGRAMME_MANAGER)
    csrf = await sign_in(other_client, "pm@example.org")
    r = await other_client.patch("/api/org", json={"name": "Mine now"}, headers=csrf)
    assert (r.status_code, r.json()["error"]["code"], (await _ok(await client.get("/api/org")))["name"]) == (
        403, "forbidden", "My organisation")


async def test_a_tutor_cannot_read_another_tutors_session(ctx: AppContext, client: httpx.AsyncClient,
                                                         other_client: httpx.AsyncClient,
                                                         admin: dict[str, str]) -> None:
    await make_user(ctx, "tutor.one@example.org", Role.TUTOR)
    other = await make_user(ctx, "tutor.two@example.org", Role.TUTOR)
    programme = await _programme(client, admin)
    theirs = await _session(client, admin, programme["id"], [other])
    await sign_in(other_client, "tutor.one@example.org")
    r = await other_client.get(f"/api/sessions/{theirs['id']}")
    roster = await other_client.get(f"/api/sessions/{theirs['id']}/roster")
    assert [(x.status_code, x.json()["error"]["code"]) for x in (r, roster)] == [(403, "not_your_session")] * 2


async def test_a_tutor_cannot_cancel_or_change_another_tutors_session(ctx: AppContext, client: httpx.AsyncClient,
                                                                     other_client: httpx.AsyncClient,
                                                                     admin: dict[str, str]) -> None:
    await make_user(ctx, "tutor.one@example.org", Role.TUTOR)
    other = await make_user(ctx, "tutor.two@example.org", Role.TUTOR)
    programme = await _programme(client, admin)
    theirs = await _session(client, admin, programme["id"], [other])
    csrf = await sign_in(other_client, "tutor.one@example.org")
    cancel = await other_client.post(f"/api/sessions/{theirs['id']}/cancel",
                                     json={"cancelled_by": "coach", "reason": "Ill"}, headers=csrf)
    patch = await other_client.patch(f"/api/sessions/{theirs['id']}", json={"title": "Mine"}, headers=csrf)
    after = await _ok(await client.get(f"/api/sessions/{theirs['id']}"))
    assert [(x.status_code, x.json()["error"]["code"]) for x in (cancel, patch)] == [
        (403, "not_your_session"), (403, "forbidden")]
    assert (after["status"], after["title"]) == ("scheduled", "Maths 1:1")


async def test_a_tutor_cancels_their_own_session(ctx: AppContext, client: httpx.AsyncClient,
                                                 other_client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    tutor = await make_user(ctx, "tutor@example.org", Role.TUTOR)
    programme = await _programme(client, admin)
    mine = await _session(client, admin, programme["id"], [tutor])
    csrf = await sign_in(other_client, "tutor@example.org")
    done = await _ok(await other_client.post(f"/api/sessions/{mine['id']}/cancel",
                                             json={"cancelled_by": "coach", "reason": "Unwell"}, headers=csrf))
    assert (done["status"], done["cancelled_by"], done["status_reason"]) == ("cancelled", "coach", "Unwell")


async def test_a_tutor_gets_only_their_own_sessions_whatever_they_ask(ctx: AppContext, client: httpx.AsyncClient,
                                                                     other_client: httpx.AsyncClient,
                                                                     admin: dict[str, str]) -> None:
    mine = await make_user(ctx, "tutor.one@example.org", Role.TUTOR)
    other = await make_user(ctx, "tutor.two@example.org", Role.TUTOR)
    programme = await _programme(client, admin)
    taught = await _session(client, admin, programme["id"], [mine])
    await _session(client, admin, programme["id"], [other], title="Theirs")
    await sign_in(other_client, "tutor.one@example.org")
    everything = await _ok(await other_client.get("/api/sessions"))
    theirs = await _ok(await other_client.get("/api/sessions", params={"tutor_id": other}))
    assert ([s["id"] for s in everything], theirs) == ([taught["id"]], [])


async def test_a_tutor_reads_the_emergency_contacts_of_their_pupil_and_it_is_audited(
        ctx: AppContext, client: httpx.AsyncClient, other_client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    tutor = await make_user(ctx, "tutor@example.org", Role.TUTOR)
    programme = await _programme(client, admin)
    pupil = await _ok(await client.post("/api/people", json={"first_name": "Ava", "last_name": "Example"},
                                        headers=admin), 201)
    await _ok(await client.post(f"/api/people/{pupil['id']}/contacts", json={
        "kind": "emergency", "name": "Carol Example", "relationship": "Mother", "phone": "07700 900123"},
        headers=admin), 201)
    made = await _session(client, admin, programme["id"], [tutor])
    await _ok(await client.put(f"/api/sessions/{made['id']}/roster", json={"person_ids": [pupil["id"]]},
                               headers=admin))
    await sign_in(other_client, "tutor@example.org")
    shown = await _ok(await other_client.get(f"/api/people/{pupil['id']}/contacts"))
    async with ctx.db.read() as conn:
        viewers = (await conn.execute(sa.select(audit_log.c.actor_user_id).where(
            audit_log.c.action == "view", audit_log.c.entity == "emergency_contacts"))).scalars().all()
    assert ([c["phone"] for c in shown], viewers) == (["07700 900123"], [tutor])


async def test_a_tutor_cannot_add_a_contact(ctx: AppContext, client: httpx.AsyncClient,
                                            other_client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    await make_user(ctx, "tutor@example.org", Role.TUTOR)
    person = await factories.person(ctx)
    csrf = await sign_in(other_client, "tutor@example.org")
    r = await other_client.post(f"/api/people/{person}/contacts",
                                json={"kind": "emergency", "name": "Carol", "phone": "07700 900123"}, headers=csrf)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden")


async def test_an_api_token_writes_without_a_csrf_header(client: httpx.AsyncClient, other_client: httpx.AsyncClient,
                                                         admin: dict[str, str]) -> None:
    token = (await _ok(await client.post("/api/auth/tokens", json={"name": "MIS sync"}, headers=admin), 201))["token"]
    made = await _ok(await other_client.post("/api/people", json={"first_name": "Ava", "last_name": "Example"},
                                             headers={"authorization": f"Bearer {token}"}), 201)
    assert made["name"] == "Ava Example"


async def test_staff_are_listed_for_managers_and_changed_by_an_admin(client: httpx.AsyncClient,
                                                                    admin: dict[str, str]) -> None:
    made = await _ok(await client.post("/api/staff", json={"email": "tutor@example.org", "name": "Tom Tutor",
                                                           "role": "tutor", "phone": "07700 900001"},
                                       headers=admin), 201)
    await _ok(await client.patch(f"/api/staff/{made['id']}", json={"role": "events_team"}, headers=admin))
    listed = await _ok(await client.get("/api/staff", params={"role": "events_team"}))
    assert [(s["email"], s["role"], s["phone"]) for s in listed] == [("tutor@example.org", "events_team",
                                                                       "07700 900001")]


async def test_people_are_searched_and_paged(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    for first in ("Ava", "Ben", "Cal"):
        await _ok(await client.post("/api/people", json={"first_name": first, "last_name": "Example"},
                                    headers=admin), 201)
    page = await _ok(await client.get("/api/people", params={"q": "example", "limit": 2, "offset": 1}))
    assert [p["first_name"] for p in page] == ["Ben", "Cal"]


async def test_an_enrolment_status_change_shows_on_the_roster(ctx: AppContext, client: httpx.AsyncClient,
                                                             admin: dict[str, str]) -> None:
    programme = await _programme(client, admin)
    person = await factories.person(ctx)
    enrolment = await _ok(await client.post(f"/api/people/{person}/enrolments",
                                            json={"programme_id": programme["id"]}, headers=admin), 201)
    await _ok(await client.patch(f"/api/enrolments/{enrolment['id']}", json={"status": "withdrawn"}, headers=admin))
    made = await _session(client, admin, programme["id"], [])
    roster = await _ok(await client.put(f"/api/sessions/{made['id']}/roster", json={"person_ids": [person]},
                                        headers=admin))
    assert [p["enrolment_status"] for p in roster] == ["withdrawn"]


async def test_an_unknown_query_value_is_refused_on_its_field(client: httpx.AsyncClient,
                                                             admin: dict[str, str]) -> None:
    r = await client.get("/api/sessions", params={"date": "2026-02-30"})
    assert (r.status_code, r.json()["error"]["field"]) == (422, "date")


async def test_a_session_row_exists_only_after_a_successful_create(ctx: AppContext, client: httpx.AsyncClient,
                                                                  admin: dict[str, str]) -> None:
    programme = await _programme(client, admin)
    r = await client.post("/api/sessions", json={
        "programme_id": programme["id"], "title": "Maths", "kind": "ap_tuition", "mode": "face_to_face",
        "starts_at": TEN, "ends_at": NINE}, headers=admin)
    async with ctx.db.read() as conn:
        count = (await conn.execute(sa.select(sa.func.count()).select_from(sessions))).scalar_one()
    assert (r.status_code, r.json()["error"]["code"], r.json()["error"]["field"], count) == (
        422, "ends_before_start", "ends_at", 0)
