"""The dispatcher's DeliveryStore on the app's database: claim with a lease, record every attempt.

Claims take due pending rows whose lease has lapsed (on PostgreSQL with `FOR UPDATE SKIP
LOCKED`, so several instances share the outbox without sending one row twice at once) and
lease them. A process killed mid-send leaves its lease to lapse and the row is claimed
again: at least once. Recording settles the row in the same transaction as its attempt;
a delivery that fails for good raises a DELIVERY-FAILED alert to the organisation's admins
(never for a DELIVERY-FAILED delivery itself, which would loop), and a 410 disables the
webhook endpoint with the reason.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts.message import Message
from alerts.result import SendResult
from alerts.store import Claimed
from checkin.context import AppContext
from checkin.domain.errors import Conflict, NotFound
from checkin.domain.principal import Principal
from checkin.services.alerting import add_event, publish_alert, raise_alert, resolve_recipients
from checkin.storage import events
from checkin.storage.audit import record
from checkin.storage.database import Tx
from checkin.storage.tables import deliveries, delivery_attempts, webhook_endpoints

log = logging.getLogger(__name__)
FAILED_RULE = "DELIVERY-FAILED"


class DatabaseOutbox:
    """alerts.store.DeliveryStore over the deliveries and delivery_attempts tables."""

    def __init__(self, ctx: AppContext) -> None:
        self._ctx = ctx

    async def claim_due(self, now: datetime, limit: int, lease_until: datetime) -> list[Claimed]:
        async def work(tx: Tx) -> list[Claimed]:
            query = (sa.select(deliveries).where(
                deliveries.c.state == "pending", deliveries.c.next_attempt_at <= now,
                sa.or_(deliveries.c.lease_until.is_(None), deliveries.c.lease_until <= now))
                .order_by(deliveries.c.next_attempt_at, deliveries.c.id).limit(limit))
            if tx.conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = (await tx.conn.execute(query)).all()
            claimed, broken = [], []
            for row in rows:
                try:
                    claimed.append(Claimed(_message(row), row.attempts))
                except ValueError as exc:
                    broken.append((row.id, f"invalid_message: {exc}"))
            if claimed:
                await tx.conn.execute(sa.update(deliveries).where(
                    deliveries.c.id.in_([c.message.delivery_id for c in claimed])).values(lease_until=lease_until))
            for delivery_id, error in broken:
                await tx.conn.execute(sa.update(deliveries).where(deliveries.c.id == delivery_id).values(
                    state="failed", last_error=error[:1000], lease_until=None))
            return claimed

        return await self._ctx.db.write(work)

    async def record_attempt(self, delivery_id: str, attempt: int, started_at: datetime, duration_ms: float,
                             result: SendResult, next_attempt_at: datetime | None) -> None:
        async def work(tx: Tx) -> None:
            await self._record(tx, delivery_id, attempt, started_at, duration_ms, result, next_attempt_at)

        await self._ctx.db.write(work)

    async def next_due_at(self) -> datetime | None:
        pending = deliveries.c.state == "pending"
        unleased = sa.or_(deliveries.c.lease_until.is_(None), deliveries.c.lease_until <= deliveries.c.next_attempt_at)
        async with self._ctx.db.read() as conn:
            due = (await conn.execute(sa.select(sa.func.min(deliveries.c.next_attempt_at))
                                      .where(pending, unleased))).scalar()
            leased = (await conn.execute(sa.select(sa.func.min(deliveries.c.lease_until))
                                         .where(pending, sa.not_(unleased)))).scalar()
        moments = [m for m in (due, leased) if m is not None]
        return min(moments) if moments else None

    async def _record(self, tx: Tx, delivery_id: str, attempt: int, started_at: datetime, duration_ms: float,
                      result: SendResult, next_attempt_at: datetime | None) -> None:
        conn, now = tx.conn, self._ctx.clock()
        query = sa.select(deliveries).where(deliveries.c.id == delivery_id)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = (await conn.execute(query)).first()
        if row is None:
            return
        await conn.execute(sa.insert(delivery_attempts).values(
            delivery_id=delivery_id, attempt=attempt, started_at=started_at, duration_ms=duration_ms,
            outcome=result.outcome, error=result.error[:1000]))
        if row.state != "pending":
            # Another instance settled it after our lease lapsed; the attempt is still on record.
            await conn.execute(sa.update(deliveries).where(deliveries.c.id == delivery_id)
                               .values(attempts=max(row.attempts, attempt)))
            return
        state = settled_state(result, next_attempt_at)
        await conn.execute(sa.update(deliveries).where(deliveries.c.id == delivery_id).values(
            state=state, attempts=max(row.attempts, attempt), lease_until=None, last_error=result.error[:1000],
            next_attempt_at=next_attempt_at if state == "pending" else None,
            sent_at=now if state == "sent" else None))
        disabled_now = state == "disabled" and await _disable_endpoint(conn, row, result, now)
        if state == "failed" or disabled_now:
            await self._tell_admins(tx, row, attempt, result, now, endpoint_disabled=disabled_now)
        channel = events.org_channel(row.org_id)
        await events.emit(tx, self._ctx.hub.publish, channel, "delivery", {
            "delivery_id": delivery_id, "alert_id": row.alert_id, "kind": row.kind, "channel": row.channel,
            "recipient_kind": row.recipient_kind, "state": state, "attempts": max(row.attempts, attempt),
            "last_error": result.error[:1000]}, now)

    async def _tell_admins(self, tx: Tx, row: Any, attempt: int, result: SendResult, now: datetime, *,
                           endpoint_disabled: bool) -> None:
        what = "its endpoint was disabled (410 Gone)" if endpoint_disabled else f"after {attempt} attempt(s)"
        if row.alert_id is not None:
            await add_event(tx.conn, row.alert_id, now, "delivery_failed",
                            f"The {row.channel} to {row.recipient} was not delivered: {what}. {result.error}",
                            {"delivery_id": row.id, "error": result.error[:1000]})
            await publish_alert(tx, self._ctx, row.alert_id, "alert_update", now)
        if row.kind == FAILED_RULE:
            return
        facts = {"delivery_id": row.id, "channel": row.channel, "recipient": row.recipient,
                 "recipient_kind": row.recipient_kind, "original_kind": row.kind, "original_subject": row.subject,
                 "attempts": attempt, "last_error": result.error[:1000], "endpoint_disabled": endpoint_disabled,
                 "original_alert_id": row.alert_id}
        recipients = await resolve_recipients(tx.conn, row.org_id, ["admin"], session_id=None, person_id=None)
        await raise_alert(tx, self._ctx, org_id=row.org_id, rule_id=FAILED_RULE, kind="delivery_failed",
                          severity="warning", title=f"Delivery failed: {row.kind} to {row.recipient}"[:300],
                          why=f"A {row.channel} message to {row.recipient} ({row.recipient_kind}) was not delivered: "
                              f"{what}. Last error: {result.error or 'none'}.",
                          facts=facts, recipients=recipients, now=now)


def settled_state(result: SendResult, next_attempt_at: datetime | None) -> str:
    """Where a delivery stands after an attempt; e-mail without SMTP settings is undeliverable, not failed."""
    if result.outcome == "retry":
        return "pending" if next_attempt_at is not None else "failed"
    if result.outcome == "failed" and result.error.startswith("email_not_configured"):
        return "undeliverable"
    return result.outcome


async def _disable_endpoint(conn: AsyncConnection, row: Any, result: SendResult, now: datetime) -> bool:
    """Turns the endpoint off with the reason; True when this attempt is what disabled it."""
    endpoint_id = (row.payload or {}).get("endpoint_id")
    where = [webhook_endpoints.c.org_id == row.org_id, webhook_endpoints.c.active.is_(True)]
    where.append(webhook_endpoints.c.id == endpoint_id if endpoint_id else webhook_endpoints.c.url == row.recipient)
    reason = f"{now.isoformat()}: the receiver answered 410 Gone ({result.error}); delivery {row.id}"[:300]
    changed = (await conn.execute(sa.update(webhook_endpoints).where(*where).values(
        active=False, disabled_reason=reason).returning(webhook_endpoints.c.id))).scalars().all()
    for endpoint in changed:
        await record(conn, now, None, "disable", "webhook_endpoint", endpoint, org_id=row.org_id,
                     actor_label="dispatcher", after={"active": False, "disabled_reason": reason})
    return bool(changed)


def _message(row: Any) -> Message:
    return Message(delivery_id=row.id, kind=row.kind, channel=row.channel, to=row.recipient, subject=row.subject,
                   text=row.text, html=row.html, payload=row.payload or {}, created_at=row.created_at)


def delivery_row_json(r: Any) -> dict[str, Any]:
    return {"id": r.id, "alert_id": r.alert_id, "kind": r.kind, "channel": r.channel, "recipient": r.recipient,
            "recipient_kind": r.recipient_kind, "subject": r.subject, "state": r.state, "attempts": r.attempts,
            "last_error": r.last_error, "created_at": r.created_at.isoformat(),
            "sent_at": r.sent_at.isoformat() if r.sent_at else None,
            "next_attempt_at": r.next_attempt_at.isoformat() if r.next_attempt_at else None}


async def list_deliveries(ctx: AppContext, actor: Principal, *, state: str | None = None, channel: str | None = None,
                          limit: int = 200) -> list[dict[str, Any]]:
    """The outbox, newest first: what was sent, what waits for a retry, what failed and why."""
    query = sa.select(deliveries).where(deliveries.c.org_id == actor.org_id)
    if state:
        query = query.where(deliveries.c.state == state)
    if channel:
        query = query.where(deliveries.c.channel == channel)
    async with ctx.db.read() as conn:
        rows = (await conn.execute(query.order_by(deliveries.c.created_at.desc()).limit(limit))).all()
    return [delivery_row_json(r) for r in rows]


async def retry_delivery(ctx: AppContext, actor: Principal, delivery_id: str, now: datetime) -> dict[str, Any]:
    """Puts a failed, undeliverable or disabled delivery back in the queue (e.g. once SMTP is set up)."""
    async def work(tx: Tx) -> dict[str, Any]:
        row = (await tx.conn.execute(sa.select(deliveries).where(
            deliveries.c.id == delivery_id, deliveries.c.org_id == actor.org_id))).first()
        if row is None:
            raise NotFound("not_found", f"There is no delivery {delivery_id}.")
        if row.state in ("pending", "sent"):
            raise Conflict("not_retryable", f"This delivery is {row.state}; only a settled failure can be retried.")
        await tx.conn.execute(sa.update(deliveries).where(deliveries.c.id == delivery_id).values(
            state="pending", next_attempt_at=now, lease_until=None))
        await record(tx.conn, now, actor, "retry", "delivery", delivery_id, before={"state": row.state},
                     after={"state": "pending"})
        tx.after_commit(lambda: ctx.wake("dispatcher"))
        return delivery_row_json((await tx.conn.execute(sa.select(deliveries).where(
            deliveries.c.id == delivery_id))).one())

    return await ctx.db.write(work)


def endpoint_json(r: Any, secret: str | None = None) -> dict[str, Any]:
    out = {"id": r.id, "url": r.url, "kinds": list(r.kinds or []), "active": r.active,
           "disabled_reason": r.disabled_reason, "created_at": r.created_at.isoformat()}
    if secret is not None:
        out["secret"] = secret
    return out


async def list_endpoints(ctx: AppContext, actor: Principal) -> list[dict[str, Any]]:
    async with ctx.db.read() as conn:
        rows = (await conn.execute(sa.select(webhook_endpoints).where(
            webhook_endpoints.c.org_id == actor.org_id).order_by(webhook_endpoints.c.id))).all()
    return [endpoint_json(r) for r in rows]


async def create_endpoint(ctx: AppContext, actor: Principal, url: str, kinds: list[str], secret: str,
                          now: datetime) -> dict[str, Any]:
    """A webhook receiver for this organisation; the secret is shown once, here."""
    secret = secret or secrets.token_urlsafe(32)

    async def work(tx: Tx) -> dict[str, Any]:
        new_id = (await tx.conn.execute(sa.insert(webhook_endpoints).values(
            org_id=actor.org_id, url=url, secret=secret, kinds=kinds, active=True, created_at=now)
            .returning(webhook_endpoints.c.id))).scalar_one()
        await record(tx.conn, now, actor, "create", "webhook_endpoint", new_id, after={"url": url, "kinds": kinds})
        row = (await tx.conn.execute(sa.select(webhook_endpoints).where(webhook_endpoints.c.id == new_id))).one()
        return endpoint_json(row, secret)

    return await ctx.db.write(work)


async def update_endpoint(ctx: AppContext, actor: Principal, endpoint_id: int, changes: dict[str, Any],
                          now: datetime) -> dict[str, Any]:
    """Turns an endpoint on or off or changes what it hears; turning it on clears the disabled reason."""
    async def work(tx: Tx) -> dict[str, Any]:
        row = (await tx.conn.execute(sa.select(webhook_endpoints).where(
            webhook_endpoints.c.id == endpoint_id, webhook_endpoints.c.org_id == actor.org_id))).first()
        if row is None:
            raise NotFound("not_found", f"There is no webhook endpoint {endpoint_id}.")
        values = dict(changes)
        if values.get("active"):
            values["disabled_reason"] = ""
        elif values.get("active") is False:
            values["disabled_reason"] = f"{now.isoformat()}: turned off by {actor.label}"[:300]
        if values:
            await tx.conn.execute(sa.update(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id)
                                  .values(**values))
        await record(tx.conn, now, actor, "update", "webhook_endpoint", endpoint_id,
                     before={k: row._mapping[k] for k in changes}, after=changes)
        return endpoint_json((await tx.conn.execute(sa.select(webhook_endpoints).where(
            webhook_endpoints.c.id == endpoint_id))).one())

    return await ctx.db.write(work)
