"""The register's HTTP endpoints: the day's sessions, the snapshot, marks, completion and tutor check-in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from checkin.clock import DrivenClock
from checkin.context import AppContext
from checkin.domain.model import Role
from checkin.services import register
from checkin.storage.database import Tx
from checkin.storage.tables import mark_history, notices, organisations, sessions
from tests import factories
from tests.conftest import make_user, sign_in

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class Setup:
    session_id: int
    ava: int
    ben: int
    headers: dict[str, str]
    tutor_id: int


@pytest.fixture
async def setup(ctx: AppContext, client: httpx.AsyncClient) -> Setup:
    tutor_id = await make_user(ctx, "tess.tutor@example.org", Role.TUTOR, "Tess Tutor")
    programme_id = await factories.programme(ctx)  # dfe_2024 code set, ap_tuition preset
    ava = await factories.person(ctx, "Ava", "Example", ap_pupil=True)
    ben = await factories.person(ctx, "Ben", "Sample")
    session_id = await factories.session(ctx, programme_id, START, tutor_ids=(tutor_id,), person_ids=(ava, ben))
    return Setup(session_id, ava, ben, await sign_in(client, "tess.tutor@example.org"), tutor_id)


def body(person_id: int, status: str = "present", nonce: str = "nonce-0001", **extra: Any) -> dict[str, Any]:
    return {"person_id": person_id, "status": status, "client_time": "2026-03-02T08:55:00+00:00", "nonce": nonce,
            "device": "tablet-1", **extra}


async def test_the_snapshot_lists_the_roster_with_initials_marks_notices_and_the_code_set(
        ctx: AppContext, client: httpx.AsyncClient, setup: Setup) -> None:
    async def notice(tx: Tx) -> None:
        await tx.conn.execute(sa.insert(notices).values(
            session_id=setup.session_id, person_id=setup.ben, reason="Illness", accepted=True,
            given_by="Parent", received_at=START - timedelta(hours=2)))

    await ctx.db.write(notice)
    await client.post(f"/api/sessions/{setup.session_id}/marks", json=body(setup.ava), headers=setup.headers)
    snap = (await client.get(f"/api/sessions/{setup.session_id}/register")).json()
    people = {p["name"]: p for p in snap["people"]}
    assert (people["Ava Example"]["initials"], people["Ava Example"]["mark"]["code"]) == ("AE", "/")
    assert (people["Ben Sample"]["mark"], people["Ben Sample"]["notice"]["reason"]) == (None, "Illness")
    assert (snap["seq"], snap["code_set"]["name"], snap["reasons"][0]["reason"]) == (1, "dfe_2024", "Illness")


async def test_the_windows_come_from_the_programmes_policy(client: httpx.AsyncClient, setup: Setup) -> None:
    snap = (await client.get(f"/api/sessions/{setup.session_id}/register")).json()
    windows = [(w["rule_id"], w["label"], w["due_at"][:16]) for w in snap["windows"]]
    assert windows == [("AP-NOSHOW", "No-show check", "2026-03-02T09:15"),
                       ("AP-REPORT", "AP report due", "2026-03-02T09:15"),
                       ("REGISTER", "Register closes", "2026-03-02T09:30"),
                       ("AP-DSL", "DSL told if no contact", "2026-03-02T10:00")]


async def test_a_face_to_face_policy_shows_its_own_register_window(ctx: AppContext,
                                                                    client: httpx.AsyncClient) -> None:
    tutor_id = await make_user(ctx, "fran.f2f@example.org", Role.TUTOR, "Fran Tutor")
    policy = {"register_window_minutes": 20, "rules": [{"id": "F2F-REGISTER"}, {"id": "TUTOR-EARLY"}]}
    programme_id = await factories.programme(ctx, name="Apprentices", code_set="plain", preset="", policy=policy)
    session_id = await factories.session(ctx, programme_id, START, kind="group", tutor_ids=(tutor_id,))
    await sign_in(client, "fran.f2f@example.org")
    snap = (await client.get(f"/api/sessions/{session_id}/register")).json()
    assert [(w["rule_id"], w["due_at"][11:16]) for w in snap["windows"]] == [("TUTOR-EARLY", "08:50"),
                                                                            ("F2F-REGISTER", "09:20")]


async def test_a_mark_is_created_once_and_its_replay_returns_the_first_result(client: httpx.AsyncClient,
                                                                               setup: Setup) -> None:
    url = f"/api/sessions/{setup.session_id}/marks"
    first = await client.post(url, json=body(setup.ava), headers=setup.headers)
    replay = await client.post(url, json=body(setup.ava, status="late"), headers=setup.headers)
    assert (first.status_code, replay.status_code) == (201, 200)
    assert (replay.json()["duplicate"], replay.json()["history_id"], replay.json()["current"]["status"]) == (
        True, first.json()["history_id"], "present")


async def test_replaying_a_mark_leaves_a_single_history_row(ctx: AppContext, client: httpx.AsyncClient,
                                                            setup: Setup) -> None:
    url = f"/api/sessions/{setup.session_id}/marks"
    for _ in range(3):
        await client.post(url, json=body(setup.ava, nonce="same-nonce-42"), headers=setup.headers)
    async with ctx.db.read() as conn:
        count = (await conn.execute(sa.select(sa.func.count()).select_from(mark_history))).scalar()
    assert count == 1


async def test_a_mark_without_a_nonce_is_refused(client: httpx.AsyncClient, setup: Setup) -> None:
    payload = body(setup.ava)
    del payload["nonce"]
    r = await client.post(f"/api/sessions/{setup.session_id}/marks", json=payload, headers=setup.headers)
    assert (r.status_code, r.json()["error"]["field"]) == (422, "nonce")


async def test_completing_with_people_unmarked_is_refused_and_lists_them(client: httpx.AsyncClient,
                                                                          setup: Setup) -> None:
    await client.post(f"/api/sessions/{setup.session_id}/marks", json=body(setup.ava), headers=setup.headers)
    r = await client.post(f"/api/sessions/{setup.session_id}/complete", json={}, headers=setup.headers)
    assert (r.status_code, r.json()["error"]["code"], r.json()["error"]["unmarked"]) == (
        409, "register_incomplete", [{"person_id": setup.ben, "name": "Ben Sample"}])


async def test_completing_twice_answers_with_the_first_completion(ctx: AppContext, client: httpx.AsyncClient,
                                                                  setup: Setup, clock: DrivenClock) -> None:
    url = f"/api/sessions/{setup.session_id}"
    await client.post(f"{url}/marks", json=body(setup.ava, nonce="n-ava-0001"), headers=setup.headers)
    await client.post(f"{url}/marks", json=body(setup.ben, "absent_authorised", "n-ben-0001", reason="Illness"),
                      headers=setup.headers)
    first = (await client.post(f"{url}/complete", json={}, headers=setup.headers)).json()
    clock.advance(minutes=5)
    second = (await client.post(f"{url}/complete", json={}, headers=setup.headers)).json()
    assert (first["already"], second["already"], second["register_completed_at"]) == (
        False, True, first["register_completed_at"])


async def test_changing_a_mark_after_completion_needs_a_reason(client: httpx.AsyncClient, setup: Setup) -> None:
    url = f"/api/sessions/{setup.session_id}"
    await client.post(f"{url}/marks", json=body(setup.ava, nonce="n-ava-0001"), headers=setup.headers)
    await client.post(f"{url}/marks", json=body(setup.ben, nonce="n-ben-0001"), headers=setup.headers)
    await client.post(f"{url}/complete", json={}, headers=setup.headers)
    change = body(setup.ava, "absent_unauthorised", "n-ava-0002", client_time="2026-03-02T08:10:00+00:00")
    refused = await client.post(f"{url}/marks", json=change, headers=setup.headers)
    allowed = await client.post(f"{url}/marks", json=change | {"reason": "Marked in error"}, headers=setup.headers)
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "reason_required")
    assert (allowed.status_code, allowed.json()["late_entry"], allowed.json()["current"]["status"]) == (
        201, True, "absent_unauthorised")


async def test_tutor_check_in_records_the_first_arrival(client: httpx.AsyncClient, setup: Setup,
                                                        clock: DrivenClock) -> None:
    url = f"/api/sessions/{setup.session_id}/tutor-checkin"
    first = (await client.post(url, json={}, headers=setup.headers)).json()
    clock.advance(minutes=3)
    second = (await client.post(url, json={}, headers=setup.headers)).json()
    snap = (await client.get(f"/api/sessions/{setup.session_id}/register")).json()
    assert first["checked_in_at"] == second["checked_in_at"] == snap["session"]["tutors"][0]["checked_in_at"]
    assert first["checked_in_at"].startswith("2026-03-02T08:00:00")
    assert "TUTOR-EARLY" not in [w["rule_id"] for w in snap["windows"]]


async def test_a_manager_who_does_not_teach_the_session_cannot_check_in_to_it(
        ctx: AppContext, client: httpx.AsyncClient, setup: Setup) -> None:
    await make_user(ctx, "max.manager@example.org", Role.PROGRAMME_MANAGER, "Max Manager")
    headers = await sign_in(client, "max.manager@example.org")
    r = await client.post(f"/api/sessions/{setup.session_id}/tutor-checkin", json={}, headers=headers)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "not_a_tutor")


async def test_a_tutor_cannot_open_another_tutors_register(ctx: AppContext, client: httpx.AsyncClient,
                                                           setup: Setup) -> None:
    await make_user(ctx, "olly.other@example.org", Role.TUTOR, "Olly Other")
    headers = await sign_in(client, "olly.other@example.org")
    read = await client.get(f"/api/sessions/{setup.session_id}/register")
    write = await client.post(f"/api/sessions/{setup.session_id}/marks", json=body(setup.ava), headers=headers)
    assert [(r.status_code, r.json()["error"]["code"]) for r in (read, write)] == [(403, "not_your_session")] * 2


async def test_another_organisations_session_is_not_found(ctx: AppContext, client: httpx.AsyncClient,
                                                          setup: Setup) -> None:
    async def other_org(tx: Tx) -> int:
        return int((await tx.conn.execute(sa.insert(organisations).values(
            name="Elsewhere", safeguarding_chain=[], bank_holidays=[], created_at=START)
            .returning(organisations.c.id))).scalar_one())

    org_id = await ctx.db.write(other_org)
    programme_id = await factories.programme(ctx, name="Theirs", org_id=org_id)
    session_id = await factories.session(ctx, programme_id, START, org_id=org_id)
    await make_user(ctx, "ada.admin@example.org", Role.ADMIN, "Ada Admin")
    await sign_in(client, "ada.admin@example.org")
    r = await client.get(f"/api/sessions/{session_id}/register")
    assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found")


async def test_the_day_list_holds_the_tutors_own_sessions_soonest_first(ctx: AppContext, client: httpx.AsyncClient,
                                                                        setup: Setup) -> None:
    programme_id = await factories.programme(ctx, name="Evening")
    other_tutor = await make_user(ctx, "olly.other@example.org", Role.TUTOR, "Olly Other")
    early = await factories.session(ctx, programme_id, START - timedelta(hours=1), tutor_ids=(setup.tutor_id,))
    await factories.session(ctx, programme_id, START + timedelta(hours=1), tutor_ids=(other_tutor,))
    await factories.session(ctx, programme_id, START + timedelta(days=1), tutor_ids=(setup.tutor_id,))
    listed = (await client.get("/api/register/sessions")).json()
    assert [(s["id"], s["roster_count"], s["marked_count"]) for s in listed] == [(early, 0, 0),
                                                                                (setup.session_id, 2, 0)]


async def test_the_register_needs_a_sign_in(client: httpx.AsyncClient, setup: Setup) -> None:
    await client.post("/api/auth/sign-out", json={}, headers=setup.headers)
    r = await client.get(f"/api/sessions/{setup.session_id}/register")
    assert (r.status_code, r.json()["error"]["code"]) == (401, "not_signed_in")


async def test_a_reschedule_tells_open_registers_the_new_windows(ctx: AppContext, setup: Setup) -> None:
    sub = ctx.hub.subscribe(f"session:{setup.session_id}")

    async def move(tx: Tx) -> None:
        await tx.conn.execute(sa.update(sessions).where(sessions.c.id == setup.session_id)
                              .values(starts_at=START + timedelta(hours=1)))
        await register.publish_windows(tx, ctx, setup.session_id, START)

    await ctx.db.write(move)
    event: Any = sub.queue.get_nowait()
    assert (event["type"], event["data"]["register_closes_at"][:16]) == ("window", "2026-03-02T10:30")
    assert [w["due_at"][11:16] for w in event["data"]["windows"]] == ["10:15", "10:15", "10:30", "11:00"]
