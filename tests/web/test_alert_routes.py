"""The alerts, follow-ups, reports, outbox and webhook endpoints: roles, CSRF, codes and state."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from checkin.clock import DrivenClock
from checkin.context import AppContext
from checkin.domain.model import Role
from checkin.services.alerting import raise_alert, resolve_recipients
from checkin.storage.database import Tx
from checkin.storage.tables import alerts, audit_log, deliveries, organisations
from tests.conftest import make_user, sign_in
from tests.services.alert_world import START, World, build_world


@pytest.fixture
async def world(ctx: AppContext, clock: DrivenClock) -> World:
    clock.now = START + timedelta(minutes=60)
    return await build_world(ctx, signs_in=("dsl", "tutor", "admin"))


async def raise_one(ctx: AppContext, world: World, org_id: int | None = None) -> int:
    async def work(tx: Tx) -> int:
        org = org_id or world.org_id
        recipients = await resolve_recipients(tx.conn, org, ["dsl_chain"], session_id=None, person_id=None)
        return await raise_alert(tx, ctx, org_id=org, rule_id="AP-DSL", kind="safeguarding",
                                 severity="safeguarding", title="Safeguarding: Sam Pupil", why="Not reached.",
                                 facts={"name": "Sam Pupil"}, recipients=recipients, now=ctx.clock(),
                                 session_id=world.session_id if org_id is None else None,
                                 person_id=world.person_id if org_id is None else None)

    return await ctx.db.write(work)


async def stored(ctx: AppContext, alert_id: int) -> Any:
    async with ctx.db.read() as conn:
        return (await conn.execute(sa.select(alerts).where(alerts.c.id == alert_id))).one()


async def test_a_tutor_may_not_read_the_alert_feed(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, "tutor@example.org")

    r = await client.get("/api/alerts")

    assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden")


async def test_the_dsl_reads_the_feed_and_an_alerts_detail_and_the_viewing_is_audited(
        client: httpx.AsyncClient, ctx: AppContext, world: World) -> None:
    alert_id = await raise_one(ctx, world)
    await sign_in(client, "dsl@example.org")

    feed = await client.get("/api/alerts", params={"severity": "safeguarding"})
    detail = await client.get(f"/api/alerts/{alert_id}")

    assert [a["id"] for a in feed.json()] == [alert_id]
    body = detail.json()
    assert (detail.status_code, body["state"], body["facts"]["name"]) == (200, "open", "Sam Pupil")
    assert [e["kind"] for e in body["timeline"]][:2] == ["session", "raised"]
    async with ctx.db.read() as conn:
        viewed = (await conn.execute(sa.select(audit_log.c.actor_user_id).where(
            audit_log.c.action == "view", audit_log.c.entity == "alert"))).scalars().all()
    assert list(viewed) == [world.dsl_id]


async def test_acknowledging_without_the_csrf_header_is_refused(
        client: httpx.AsyncClient, ctx: AppContext, world: World) -> None:
    alert_id = await raise_one(ctx, world)
    await sign_in(client, "dsl@example.org")

    r = await client.post(f"/api/alerts/{alert_id}/acknowledge", json={})

    assert (r.status_code, r.json()["error"]["code"]) == (403, "csrf_failed")
    assert (await stored(ctx, alert_id)).state == "open"


async def test_acknowledge_decide_and_close_move_the_alert_through_its_states(
        client: httpx.AsyncClient, ctx: AppContext, world: World) -> None:
    alert_id = await raise_one(ctx, world)
    csrf = await sign_in(client, "dsl@example.org")

    ack = await client.post(f"/api/alerts/{alert_id}/acknowledge", json={}, headers=csrf)
    decided = await client.post(f"/api/alerts/{alert_id}/decisions", headers=csrf,
                                json={"decision": "Parent reached, pupil unwell"})
    closed = await client.post(f"/api/alerts/{alert_id}/close", headers=csrf, json={"outcome": "Pupil at home"})
    again = await client.post(f"/api/alerts/{alert_id}/close", headers=csrf, json={"outcome": "Twice"})

    assert [(r.status_code, r.json().get("state")) for r in (ack, decided, closed)] == [
        (200, "acknowledged"), (201, "acknowledged"), (200, "closed")]
    assert (again.status_code, again.json()["error"]["code"]) == (409, "alert_closed")
    assert (await stored(ctx, alert_id)).outcome == "Pupil at home"


async def test_another_organisations_alert_is_not_found(
        client: httpx.AsyncClient, ctx: AppContext, world: World) -> None:
    async def other_org(tx: Tx) -> int:
        return int((await tx.conn.execute(sa.insert(organisations).values(
            name="Elsewhere", safeguarding_chain=[], bank_holidays=[], created_at=ctx.clock())
            .returning(organisations.c.id))).scalar_one())

    foreign = await raise_one(ctx, world, await ctx.db.write(other_org))
    csrf = await sign_in(client, "dsl@example.org")

    read = await client.get(f"/api/alerts/{foreign}")
    ack = await client.post(f"/api/alerts/{foreign}/acknowledge", json={}, headers=csrf)

    assert [(r.status_code, r.json()["error"]["code"]) for r in (read, ack)] == [(404, "not_found")] * 2


async def test_the_sessions_tutor_raises_a_concern_that_lands_on_the_dsl_feed(
        client: httpx.AsyncClient, ctx: AppContext, world: World) -> None:
    csrf = await sign_in(client, "tutor@example.org")

    r = await client.post(f"/api/sessions/{world.session_id}/concerns", headers=csrf,
                          json={"person_id": world.person_id, "kind": "safeguarding", "note": "Bruise on arm."})
    await sign_in(client, "dsl@example.org")
    feed = (await client.get("/api/alerts")).json()

    assert (r.status_code, r.json()["rule_id"], r.json()["severity"]) == (201, "CONCERN", "safeguarding")
    assert [a["id"] for a in feed] == [r.json()["id"]]


async def test_a_tutor_of_another_session_cannot_raise_a_concern_in_it(
        client: httpx.AsyncClient, ctx: AppContext, world: World) -> None:
    await make_user(ctx, "other.tutor@example.org", Role.TUTOR, "Olly Other")
    csrf = await sign_in(client, "other.tutor@example.org")

    r = await client.post(f"/api/sessions/{world.session_id}/concerns", headers=csrf,
                          json={"person_id": world.person_id, "kind": "wellbeing", "note": "x"})

    assert (r.status_code, r.json()["error"]["code"]) == (403, "not_your_session")


async def test_a_concern_of_an_unknown_kind_is_invalid(client: httpx.AsyncClient, world: World) -> None:
    csrf = await sign_in(client, "tutor@example.org")

    r = await client.post(f"/api/sessions/{world.session_id}/concerns", headers=csrf,
                          json={"person_id": world.person_id, "kind": "gossip", "note": "x"})

    assert (r.status_code, r.json()["error"]["code"], r.json()["error"]["field"]) == (422, "invalid_choice", "kind")


async def test_a_follow_up_sent_twice_with_one_nonce_is_created_once(
        client: httpx.AsyncClient, world: World) -> None:
    csrf = await sign_in(client, "tutor@example.org")
    body = {"person_id": world.person_id, "session_id": world.session_id, "contact_name": "Pat Parent",
            "method": "phone", "outcome": "reached", "note": "Pupil unwell.", "nonce": "tab-1:1"}

    first = await client.post("/api/follow-ups", headers=csrf, json=body)
    again = await client.post("/api/follow-ups", headers=csrf, json=body)
    listed = await client.get("/api/follow-ups", params={"session_id": world.session_id})

    assert [(r.status_code, r.json()["duplicate"]) for r in (first, again)] == [(201, False), (200, True)]
    assert [f["id"] for f in listed.json()] == [first.json()["id"]]


async def test_a_session_and_an_incident_report_are_written_and_listed(
        client: httpx.AsyncClient, world: World) -> None:
    csrf = await sign_in(client, "tutor@example.org")

    made = [await client.post(f"/api/sessions/{world.session_id}/reports", headers=csrf, json=body) for body in (
        {"kind": "session", "text": "Fractions; Sam absent, parent reached."},
        {"kind": "incident", "text": "Sam left upset.", "person_id": world.person_id})]
    listed = await client.get(f"/api/sessions/{world.session_id}/reports")

    assert [r.status_code for r in made] == [201, 201]
    assert [(r["report_kind"], r["state"]) for r in listed.json()] == [("session", "closed"), ("incident", "open")]


async def test_an_admin_requeues_an_undeliverable_e_mail_but_not_a_pending_one(
        client: httpx.AsyncClient, ctx: AppContext, world: World) -> None:
    await raise_one(ctx, world)
    csrf = await sign_in(client, "admin@example.org")
    [stuck, *_] = (await client.get("/api/deliveries", params={"state": "undeliverable"})).json()

    retried = await client.post(f"/api/deliveries/{stuck['id']}/retry", headers=csrf)
    twice = await client.post(f"/api/deliveries/{stuck['id']}/retry", headers=csrf)

    assert (retried.status_code, retried.json()["state"]) == (200, "pending")
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "not_retryable")
    async with ctx.db.read() as conn:
        state = (await conn.execute(sa.select(deliveries.c.state).where(deliveries.c.id == stuck["id"]))).scalar()
    assert state == "pending"


async def test_an_admin_adds_a_webhook_sees_its_secret_once_and_turns_it_off(
        client: httpx.AsyncClient, world: World) -> None:
    csrf = await sign_in(client, "admin@example.org")

    made = await client.post("/api/webhooks", headers=csrf, json={"url": "https://hooks.example.org/in",
                                                                 "kinds": ["AP-DSL"]})
    listed = await client.get("/api/webhooks")
    off = await client.patch(f"/api/webhooks/{made.json()['id']}", headers=csrf, json={"active": False})
    bad = await client.post("/api/webhooks", headers=csrf, json={"url": "ftp://nope.example.org"})

    assert made.status_code == 201 and len(made.json()["secret"]) >= 32
    assert "secret" not in listed.json()[0]
    assert (off.json()["active"], off.json()["disabled_reason"].endswith("turned off by Ada Admin (admin)")) == (
        False, True)
    assert (bad.status_code, bad.json()["error"]["field"]) == (422, "url")
