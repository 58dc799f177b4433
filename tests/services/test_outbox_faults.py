"""The database outbox under faults: SMTP down, webhook 500/410/timeouts, the last try, no SMTP at all."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from alerts.retry import RetrySchedule
from checkin.clock import DrivenClock
from checkin.context import AppContext
from checkin.services.alerting import raise_alert, resolve_recipients
from checkin.services.dispatch import build_dispatcher
from checkin.settings import Settings
from checkin.storage.database import Tx
from checkin.storage.tables import alert_events, alerts, deliveries, delivery_attempts, webhook_endpoints
from tests.alerts.conftest import RECEIVER_SECRET, Receiver, SmtpServer, http_receiver, smtp_server  # noqa: F401
from tests.conftest import both_backends
from tests.services.alert_world import World, add_webhook, build_world

HOOK = "https://receiver.example.org/hook"
SCHEDULE = RetrySchedule(base_s=30, max_attempts=3)


@pytest.fixture
def settings(tmp_path: Path, database_url: str, smtp_server: SmtpServer) -> Settings:  # noqa: F811
    return Settings.from_env({}, data_dir=tmp_path / "data", database_url=database_url,
                             secret_key="test-secret-" + "x" * 40, public_base_url="http://testserver",
                             smtp_host="127.0.0.1", smtp_port=smtp_server.port, smtp_from="alerts@example.org")


@pytest.fixture
async def world(ctx: AppContext) -> World:
    return await build_world(ctx)


async def raise_one(ctx: AppContext, world: World, names: tuple[str, ...] = ("tutor",)) -> int:
    async def work(tx: Tx) -> int:
        recipients = await resolve_recipients(tx.conn, world.org_id, names, session_id=world.session_id,
                                              person_id=world.person_id)
        return await raise_alert(tx, ctx, org_id=world.org_id, rule_id="AP-NOSHOW", kind="no_show",
                                 severity="warning", title="No-show, no contact: Sam Pupil", why="Sam did not arrive.",
                                 facts={"name": "Sam Pupil", "session_title": "Maths 1:1"}, recipients=recipients,
                                 now=ctx.clock(), session_id=world.session_id, person_id=world.person_id)

    return await ctx.db.write(work)


def answering(ctx: AppContext, *answers: Callable[[httpx.Request], httpx.Response]) -> list[httpx.Request]:
    """Routes the app's outbound HTTP through scripted answers (the last repeats); returns what was sent."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers[min(len(seen), len(answers)) - 1](request)

    ctx.http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return seen


def status(code: int) -> Callable[[httpx.Request], httpx.Response]:
    return lambda _: httpx.Response(code)


def time_out(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("no answer", request=request)


async def rows(ctx: AppContext, table: sa.Table, *where: Any) -> list[Any]:
    async with ctx.db.read() as conn:
        return list((await conn.execute(sa.select(table).where(*where))).all())


async def drain(ctx: AppContext, clock: DrivenClock, passes: int = 20) -> None:
    """Runs the dispatcher, moving the driven clock to each next due time, until nothing is due."""
    dispatcher = build_dispatcher(ctx, schedule=SCHEDULE)
    store = dispatcher._store  # the outbox itself, to read the next due time
    for _ in range(passes):
        await dispatcher.run_once()
        due = await store.next_due_at()
        if due is None:
            return
        clock.now = max(clock.now, due)
    raise AssertionError("still pending")


@both_backends
async def test_an_email_queued_while_smtp_is_down_is_delivered_after_a_retry_once_it_is_back(
        ctx: AppContext, world: World, smtp_server: SmtpServer, clock: DrivenClock) -> None:  # noqa: F811
    await raise_one(ctx, world)
    dispatcher = build_dispatcher(ctx, schedule=SCHEDULE)

    await dispatcher.run_once()
    [pending] = await rows(ctx, deliveries)
    smtp_server.start()
    assert pending.next_attempt_at is not None
    clock.now = pending.next_attempt_at
    await dispatcher.run_once()

    [delivery] = await rows(ctx, deliveries)
    attempts = await rows(ctx, delivery_attempts)
    assert (pending.state, delivery.state, delivery.attempts) == ("pending", "sent", 2)
    assert [a.outcome for a in sorted(attempts, key=lambda a: a.attempt)] == ["retry", "sent"]
    assert attempts[0].error.startswith(("SMTPConnect", "ConnectionRefused", "OSError"))
    assert [rcpts for rcpts, _ in smtp_server.handler.received] == [["tutor@example.org"]]


@both_backends
async def test_a_webhook_answered_500_then_200_is_delivered_once_more_with_the_same_id(
        ctx: AppContext, world: World, clock: DrivenClock) -> None:
    await add_webhook(ctx, HOOK, "endpoint-secret")
    seen = answering(ctx, status(500), status(200))
    await raise_one(ctx, world, names=())

    await drain(ctx, clock)

    [delivery] = await rows(ctx, deliveries)
    assert delivery.state == "sent"
    assert [r.headers["x-checkin-delivery-id"] for r in seen] == [delivery.id, delivery.id]
    assert seen[0].content == seen[1].content
    assert json.loads(seen[0].content)["id"] == delivery.id
    assert [a.error for a in await rows(ctx, delivery_attempts)] == ["http_500", ""]


async def test_a_410_disables_the_endpoint_records_why_and_tells_the_admins(
        ctx: AppContext, world: World, clock: DrivenClock) -> None:
    endpoint_id = await add_webhook(ctx, HOOK, "endpoint-secret")
    seen = answering(ctx, status(410))
    alert_id = await raise_one(ctx, world, names=())

    await drain(ctx, clock)
    await raise_one(ctx, world, names=())

    [endpoint] = await rows(ctx, webhook_endpoints, webhook_endpoints.c.id == endpoint_id)
    assert endpoint.active is False
    assert "410" in endpoint.disabled_reason
    [hook] = await rows(ctx, deliveries, deliveries.c.channel == "webhook")
    assert (hook.state, hook.alert_id, len(seen)) == ("disabled", alert_id, 1)
    [told] = await rows(ctx, alerts, alerts.c.rule_id == "DELIVERY-FAILED")
    assert told.facts["endpoint_disabled"] is True
    [to_admin] = await rows(ctx, deliveries, deliveries.c.alert_id == told.id)
    assert (to_admin.recipient, to_admin.recipient_kind) == ("admin@example.org", "admin")


@both_backends
async def test_a_webhook_that_times_out_is_retried_and_then_delivered(
        ctx: AppContext, world: World, clock: DrivenClock) -> None:
    await add_webhook(ctx, HOOK, "endpoint-secret")
    answering(ctx, time_out, status(204))
    await raise_one(ctx, world, names=())

    await drain(ctx, clock)

    [delivery] = await rows(ctx, deliveries)
    attempts = sorted(await rows(ctx, delivery_attempts), key=lambda a: a.attempt)
    assert delivery.state == "sent"
    assert [(a.outcome, a.error) for a in attempts] == [("retry", "timeout: ReadTimeout"), ("sent", "")]


async def test_a_delivery_failing_at_its_last_try_ends_failed_on_the_alert_timeline_and_alerts_the_admins(
        ctx: AppContext, world: World, clock: DrivenClock) -> None:
    await add_webhook(ctx, HOOK, "endpoint-secret")
    answering(ctx, status(503))
    alert_id = await raise_one(ctx, world, names=())

    await drain(ctx, clock)

    [delivery] = await rows(ctx, deliveries, deliveries.c.alert_id == alert_id)
    assert (delivery.state, delivery.attempts, delivery.last_error) == ("failed", 3, "http_503")
    steps = [e.kind for e in await rows(ctx, alert_events, alert_events.c.alert_id == alert_id)]
    assert steps == ["raised", "delivery_failed"]
    [told] = await rows(ctx, alerts, alerts.c.rule_id == "DELIVERY-FAILED")
    assert (told.facts["delivery_id"], told.facts["attempts"], told.severity) == (delivery.id, 3, "warning")


async def test_a_failed_delivery_failed_alert_raises_no_further_alert(
        ctx: AppContext, world: World, clock: DrivenClock) -> None:
    await add_webhook(ctx, HOOK, "endpoint-secret")
    answering(ctx, status(503))
    await raise_one(ctx, world, names=())

    await drain(ctx, clock, passes=40)

    kinds = sorted(r.rule_id for r in await rows(ctx, alerts))
    assert kinds == ["AP-NOSHOW", "DELIVERY-FAILED"]
    failed = await rows(ctx, deliveries, deliveries.c.state == "failed")
    # The original's webhook, then the DELIVERY-FAILED alert's own webhook and e-mail (SMTP is down too).
    assert sorted((d.kind, d.channel) for d in failed) == [
        ("AP-NOSHOW", "webhook"), ("DELIVERY-FAILED", "email"), ("DELIVERY-FAILED", "webhook")]


async def test_a_claimed_delivery_is_not_claimed_again_until_its_lease_runs_out(
        ctx: AppContext, world: World, clock: DrivenClock) -> None:
    await raise_one(ctx, world)
    store = build_dispatcher(ctx)._store
    now = clock.now

    first = await store.claim_due(now, 10, now + timedelta(seconds=60))
    while_leased = await store.claim_due(now + timedelta(seconds=59), 10, now + timedelta(seconds=120))
    due = await store.next_due_at()
    after = await store.claim_due(now + timedelta(seconds=60), 10, now + timedelta(seconds=120))

    assert (len(first), len(while_leased), len(after)) == (1, 0, 1)
    assert due == now + timedelta(seconds=60)
    assert after[0].message.delivery_id == first[0].message.delivery_id


async def test_a_webhook_is_signed_with_its_endpoints_secret_and_verified_by_a_real_receiver(
        ctx: AppContext, world: World, clock: DrivenClock, http_receiver: Receiver) -> None:  # noqa: F811
    await add_webhook(ctx, http_receiver.url, RECEIVER_SECRET.decode())
    alert_id = await raise_one(ctx, world, names=())

    await drain(ctx, clock)

    [delivery] = await rows(ctx, deliveries)
    [seen] = [s for s in http_receiver.seen if s["headers"]["x-checkin-delivery-id"] == delivery.id]
    document = json.loads(seen["body"])
    assert (seen["verified"], delivery.state) == (True, "sent")
    assert (document["id"], document["kind"], document["alert_id"]) == (delivery.id, "AP-NOSHOW", alert_id)
    assert document["facts"]["name"] == "Sam Pupil"


async def test_a_webhook_endpoint_listening_for_other_kinds_gets_nothing(ctx: AppContext, world: World) -> None:
    await add_webhook(ctx, HOOK, "endpoint-secret", kinds=["AP-DSL"])

    await raise_one(ctx, world, names=())

    assert await rows(ctx, deliveries) == []
