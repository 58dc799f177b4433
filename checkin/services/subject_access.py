"""A person's data on request: everything held about them as JSON, and erasure where the law allows it.

Judgement: erasure is refused (code "legal_hold") while any active hold covers the person,
and (code "retention_applies") while they appear on a register or in an alert that is still
inside its retention period, because registers and safeguarding records must be kept. The
audit log keeps its earlier entries about the person: it is append-only, and the erasure
itself is recorded there with counts, never with the erased data.
"""

from __future__ import annotations

import base64
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.context import AppContext
from checkin.domain.errors import Conflict, NotFound
from checkin.domain.principal import Principal
from checkin.services import legal_holds, retention
from checkin.services.record_removal import delete_rows, referrers
from checkin.storage.audit import record
from checkin.storage.database import Tx
from checkin.storage.tables import alerts, audit_log, deliveries, mark_history, people, roster, sessions

FORMAT = "checkin-subject-access/1"


def plain(value: Any) -> Any:
    """A stored value as JSON: instants and dates in ISO 8601, bytes in base64."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _rows(result: Any) -> list[dict[str, Any]]:
    return [{k: plain(v) for k, v in r._mapping.items()} for r in result.all()]


async def _person(conn: AsyncConnection, org_id: int, person_id: int) -> Any:
    row = (await conn.execute(sa.select(people).where(people.c.id == person_id, people.c.org_id == org_id))).first()
    if row is None:
        raise NotFound("not_found", "No such person.")
    return row


async def collect(conn: AsyncConnection, org_id: int, person_id: int) -> dict[str, Any]:
    """Every row that names the person, table by table, found through the schema's foreign keys."""
    person = await _person(conn, org_id, person_id)
    records: dict[str, list[dict[str, Any]]] = {}
    for table, column, _ in referrers(people):
        rows = _rows(await conn.execute(sa.select(table).where(column == person_id)))
        if rows:
            records.setdefault(table.name, []).extend(rows)
    their_alerts = sa.select(alerts.c.id).where(alerts.c.person_id == person_id)
    sent = _rows(await conn.execute(sa.select(deliveries).where(deliveries.c.alert_id.in_(their_alerts))))
    if sent:
        records["deliveries"] = sent
    session_ids = sa.union(sa.select(roster.c.session_id).where(roster.c.person_id == person_id),
                           sa.select(mark_history.c.session_id).where(mark_history.c.person_id == person_id))
    attended = _rows(await conn.execute(
        sa.select(sessions.c.id, sessions.c.title, sessions.c.kind, sessions.c.mode, sessions.c.starts_at,
                  sessions.c.ends_at, sessions.c.location, sessions.c.status)
        .where(sessions.c.id.in_(session_ids)).order_by(sessions.c.starts_at)))
    audit = _rows(await conn.execute(sa.select(audit_log).where(
        audit_log.c.person_id == person_id, audit_log.c.org_id == org_id).order_by(audit_log.c.id)))
    return {"person": {k: plain(v) for k, v in person._mapping.items()}, "sessions": attended,
            "records": records, "audit": audit}


async def export(ctx: AppContext, actor: Principal, person_id: int, now: datetime) -> dict[str, Any]:
    """Everything held about one person, as one JSON document; the export is audited."""
    async with ctx.db.read() as conn:
        held = await collect(conn, actor.org_id, person_id)

    async def work(tx: Tx) -> None:
        await record(tx.conn, now, actor, "export", "person", person_id, person_id=person_id,
                     after={"tables": sorted(held["records"]), "audit_entries": len(held["audit"])})

    await ctx.db.write(work)
    return {"format": FORMAT, "exported_at": now.isoformat(), "exported_by": actor.label, **held}


async def blockers(conn: AsyncConnection, org_id: int, person_id: int, now: datetime) -> list[dict[str, Any]]:
    """What stops the person's erasure now: holds first, then records still inside their retention."""
    found: list[dict[str, Any]] = []
    for hold in await legal_holds.holds_on(conn, org_id, person_id):
        found.append({"code": "legal_hold", "hold_id": hold["id"], "reason": hold["reason"]})
    days = await retention.keep_days(conn, org_id)
    their_sessions = sa.union(
        sa.select(mark_history.c.session_id).where(mark_history.c.person_id == person_id),
        sa.select(roster.c.session_id).join(sessions, sessions.c.id == roster.c.session_id)
        .where(roster.c.person_id == person_id, sessions.c.starts_at <= now))
    last_register = (await conn.execute(sa.select(sa.func.max(sessions.c.ends_at))
                                        .where(sessions.c.id.in_(their_sessions)))).scalar()
    if last_register is not None:
        keep_until = last_register + timedelta(days=days["registers"])
        if keep_until > now:
            found.append({"code": "retention_applies", "record_type": "registers",
                          "keep_until": keep_until.isoformat()})
    last_alert = (await conn.execute(sa.select(sa.func.max(alerts.c.created_at))
                                     .where(alerts.c.person_id == person_id))).scalar()
    if last_alert is not None:
        keep_until = last_alert + timedelta(days=days["alerts"])
        if keep_until > now:
            found.append({"code": "retention_applies", "record_type": "alerts", "keep_until": keep_until.isoformat()})
    return found


def _refusal(found: list[dict[str, Any]]) -> Conflict:
    if any(b["code"] == "legal_hold" for b in found):
        return Conflict("legal_hold", "A legal hold covers this person's records; they cannot be erased until it "
                        "is released.", blockers=found)
    until = max(b["keep_until"] for b in found)
    kinds = " and ".join(sorted({b["record_type"] for b in found}))
    return Conflict("retention_applies", f"This person's {kinds} must be kept until {until[:10]}; they cannot be "
                    "erased before then.", blockers=found, keep_until=until)


async def erase(ctx: AppContext, actor: Principal, person_id: int, reason: str, now: datetime) -> dict[str, Any]:
    """Deletes the person and every row about them, or refuses with legal_hold / retention_applies."""
    async def work(tx: Tx) -> dict[str, int]:
        await _person(tx.conn, actor.org_id, person_id)
        found = await blockers(tx.conn, actor.org_id, person_id, now)
        if found:
            raise _refusal(found)
        counts: dict[str, int] = {}
        for table, column, _ in referrers(people):
            n = (await tx.conn.execute(sa.select(sa.func.count()).select_from(table).where(column == person_id)))
            counted = int(n.scalar_one())
            if counted:
                counts[table.name] = counts.get(table.name, 0) + counted
        alert_ids = list((await tx.conn.execute(sa.select(alerts.c.id).where(alerts.c.person_id == person_id)))
                         .scalars())
        if alert_ids:
            sent = await tx.conn.execute(sa.delete(deliveries).where(deliveries.c.alert_id.in_(alert_ids)))
            counts["deliveries"] = int(sent.rowcount or 0)
            await delete_rows(tx.conn, alerts, alert_ids)
        counts["people"] = await delete_rows(tx.conn, people, [person_id])
        await record(tx.conn, now, actor, "erase", "person", person_id, person_id=person_id,
                     after={"reason": reason, "deleted": counts})
        return counts

    counts = await ctx.db.write(work)
    return {"person_id": person_id, "erased": True, "deleted": counts}
