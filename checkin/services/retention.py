"""How long each kind of record is kept, and the daily purge that deletes what has run out.

Judgement: registers (sessions with their marks, mark history, rosters and notices) and
safeguarding alerts are kept at least six years, the longest period the providers' funders
and England's school-records guidance ask for; an organisation may keep them longer but the
settings refuse anything shorter. Records under an active legal hold (checkin.services.
legal_holds) are never purged, whatever their age. The audit log is never purged by the app:
it is the record that the rest was handled properly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.context import AppContext
from checkin.domain.errors import Invalid
from checkin.domain.principal import Principal, system
from checkin.services import legal_holds
from checkin.services.record_removal import delete_rows
from checkin.storage.audit import record
from checkin.storage.database import Tx
from checkin.storage.tables import (
    alerts,
    checkin_attempts,
    deliveries,
    events,
    mark_history,
    organisations,
    people,
    retention_settings,
    roster,
    sessions,
    user_sessions,
)

log = logging.getLogger(__name__)
SIX_YEARS = 6 * 365 + 2  # days; two leap days fall in any six years
PURGE_AT = time(3, 0)  # local time of the daily run: after midnight's reports, before the school day
BATCH = 200  # rows per unit of work, so a large purge never holds the single writer for long


@dataclass(frozen=True)
class RecordType:
    name: str
    description: str
    default_days: int
    minimum_days: int


RECORD_TYPES: dict[str, RecordType] = {t.name: t for t in (
    RecordType("registers", "sessions that have ended, with their marks, mark history, rosters, notices, "
               "follow-ups, tasks and check-ins", SIX_YEARS, SIX_YEARS),
    RecordType("alerts", "alerts and their timelines, counted from when each was raised", SIX_YEARS, SIX_YEARS),
    RecordType("people", "participants (with their contacts and enrolments) on no register and in no alert "
               "any more, counted from when they were added", SIX_YEARS, 365),
    RecordType("deliveries", "e-mails and webhooks sent or given up on, with their attempts", 730, 90),
    RecordType("checkin_attempts", "QR scans and identifications, accepted or refused", 90, 7),
    RecordType("live_events", "numbered live updates kept for reconnecting screens", 30, 1),
    RecordType("sign_ins", "staff sign-in sessions that have expired or been ended", 90, 1),
)}


async def keep_days(conn: AsyncConnection, org_id: int) -> dict[str, int]:
    """Days kept per record type for the organisation: its settings over the defaults."""
    rows = (await conn.execute(sa.select(retention_settings.c.record_type, retention_settings.c.keep_days)
                               .where(retention_settings.c.org_id == org_id))).all()
    days = {name: t.default_days for name, t in RECORD_TYPES.items()}
    days.update({r.record_type: max(r.keep_days, RECORD_TYPES[r.record_type].minimum_days)
                 for r in rows if r.record_type in RECORD_TYPES})
    return days


async def settings_json(conn: AsyncConnection, org_id: int) -> list[dict[str, Any]]:
    days = await keep_days(conn, org_id)
    return [{"record_type": t.name, "description": t.description, "keep_days": days[t.name],
             "default_days": t.default_days, "minimum_days": t.minimum_days} for t in RECORD_TYPES.values()]


async def set_keep_days(ctx: AppContext, actor: Principal, record_type: str, days: int,
                        now: datetime) -> dict[str, Any]:
    """Changes one record type's period; below its minimum is refused with code below_minimum."""
    kind = RECORD_TYPES.get(record_type)
    if kind is None:
        raise Invalid("unknown_record_type", f"No record type {record_type!r}; one of: {', '.join(RECORD_TYPES)}.",
                      "record_type")
    if days < kind.minimum_days:
        raise Invalid("below_minimum", f"{kind.name} must be kept at least {kind.minimum_days} days.", "keep_days",
                      minimum_days=kind.minimum_days)

    async def work(tx: Tx) -> None:
        before = (await keep_days(tx.conn, actor.org_id))[record_type]
        where = (retention_settings.c.org_id == actor.org_id) & (retention_settings.c.record_type == record_type)
        found = (await tx.conn.execute(sa.select(retention_settings.c.id).where(where))).first()
        values = {"keep_days": days, "updated_at": now, "updated_by": actor.user_id}
        if found:
            await tx.conn.execute(sa.update(retention_settings).where(where).values(**values))
        else:
            await tx.conn.execute(sa.insert(retention_settings).values(org_id=actor.org_id, record_type=record_type,
                                                                       **values))
        await record(tx.conn, now, actor, "update", "retention", record_type, before={"keep_days": before},
                     after={"keep_days": days})

    await ctx.db.write(work)
    async with ctx.db.read() as conn:
        return next(s for s in await settings_json(conn, actor.org_id) if s["record_type"] == record_type)


def _held_people() -> sa.Select[Any]:
    return legal_holds.active_person_ids()


def _held_sessions() -> sa.Select[Any]:
    return legal_holds.active_session_ids()


def _candidates(kind: str, org_id: int, cutoff: datetime) -> sa.Select[Any]:
    """Ids of the rows of `kind` past `cutoff` that no active hold covers."""
    if kind == "registers":
        held_rosters = sa.select(roster.c.session_id).where(roster.c.person_id.in_(_held_people()))
        held_marks = sa.select(mark_history.c.session_id).where(mark_history.c.person_id.in_(_held_people()))
        return sa.select(sessions.c.id).where(
            sessions.c.org_id == org_id, sessions.c.ends_at < cutoff, sessions.c.id.not_in(_held_sessions()),
            sessions.c.id.not_in(held_rosters), sessions.c.id.not_in(held_marks))
    if kind == "alerts":
        return sa.select(alerts.c.id).where(
            alerts.c.org_id == org_id, alerts.c.created_at < cutoff,
            sa.or_(alerts.c.person_id.is_(None), alerts.c.person_id.not_in(_held_people())),
            sa.or_(alerts.c.session_id.is_(None), alerts.c.session_id.not_in(_held_sessions())))
    if kind == "people":
        return sa.select(people.c.id).where(
            people.c.org_id == org_id, people.c.created_at < cutoff, people.c.id.not_in(_held_people()),
            ~sa.exists().where(roster.c.person_id == people.c.id),
            ~sa.exists().where(mark_history.c.person_id == people.c.id),
            ~sa.exists().where(alerts.c.person_id == people.c.id))
    if kind == "deliveries":
        held_alerts = sa.select(alerts.c.id).where(sa.or_(alerts.c.person_id.in_(_held_people()),
                                                          alerts.c.session_id.in_(_held_sessions())))
        return sa.select(deliveries.c.id).where(
            deliveries.c.org_id == org_id, deliveries.c.created_at < cutoff,
            deliveries.c.state.in_(("sent", "failed", "disabled")),
            sa.or_(deliveries.c.alert_id.is_(None), deliveries.c.alert_id.not_in(held_alerts)))
    if kind == "checkin_attempts":
        org_sessions = sa.select(sessions.c.id).where(sessions.c.org_id == org_id)
        return sa.select(checkin_attempts.c.id).where(
            checkin_attempts.c.at < cutoff, checkin_attempts.c.session_id.in_(org_sessions),
            sa.or_(checkin_attempts.c.person_id.is_(None), checkin_attempts.c.person_id.not_in(_held_people())),
            checkin_attempts.c.session_id.not_in(_held_sessions()))
    raise ValueError(kind)


async def _purge_kind(ctx: AppContext, org_id: int, kind: str, cutoff: datetime) -> int:
    """Deletes `kind` rows past `cutoff` in batches; returns how many went."""
    table = {"registers": sessions, "alerts": alerts, "people": people, "deliveries": deliveries,
             "checkin_attempts": checkin_attempts}[kind]
    total = 0
    while True:
        async def work(tx: Tx) -> int:
            ids = list((await tx.conn.execute(_candidates(kind, org_id, cutoff).limit(BATCH))).scalars())
            if ids:
                await delete_rows(tx.conn, table, ids)
            return len(ids)

        done = await ctx.db.write(work)
        total += done
        if done < BATCH:
            return total


async def _purge_shared(ctx: AppContext, kind: str, cutoff: datetime) -> int:
    """Live events and sign-ins carry no organisation column: the shortest period of any org applies."""
    async def work(tx: Tx) -> int:
        if kind == "live_events":
            result = await tx.conn.execute(sa.delete(events).where(events.c.created_at < cutoff))
        else:
            ended = sa.or_(user_sessions.c.expires_at < cutoff, user_sessions.c.revoked_at < cutoff)
            result = await tx.conn.execute(sa.delete(user_sessions).where(ended))
        return int(result.rowcount or 0)

    return int(await ctx.db.write(work))


async def purge(ctx: AppContext, now: datetime, actor: Principal | None = None) -> dict[int, dict[str, int]]:
    """Runs every record type's purge for every organisation; returns counts per org and type.

    Each organisation's run is audited once, as "purge" with the counts and cut-off dates.
    """
    async with ctx.db.read() as conn:
        org_ids = list((await conn.execute(sa.select(organisations.c.id).order_by(organisations.c.id))).scalars())
        periods = {org_id: await keep_days(conn, org_id) for org_id in org_ids}
    counts: dict[int, dict[str, int]] = {}
    for org_id in org_ids:
        days = periods[org_id]
        done = {kind: await _purge_kind(ctx, org_id, kind, now - timedelta(days=days[kind]))
                for kind in ("registers", "alerts", "people", "deliveries", "checkin_attempts")}
        counts[org_id] = done
    shared = {}
    for kind in ("live_events", "sign_ins"):
        shortest = min((p[kind] for p in periods.values()), default=RECORD_TYPES[kind].default_days)
        shared[kind] = await _purge_shared(ctx, kind, now - timedelta(days=shortest))

    async def audit(tx: Tx) -> None:
        for org_id in org_ids:
            cutoffs = {k: (now - timedelta(days=d)).isoformat() for k, d in periods[org_id].items()}
            by = actor if actor is not None and actor.org_id == org_id else system(org_id, "retention")
            await record(tx.conn, now, by, "purge", "retention", "", org_id=org_id,
                         after={"deleted": {**counts[org_id], **shared}, "cutoffs": cutoffs})

    await ctx.db.write(audit)
    for org_id in org_ids:
        counts[org_id].update(shared)
    return counts


def next_run(now: datetime, zone: ZoneInfo, at: time = PURGE_AT) -> datetime:
    """The next `at` o'clock local time strictly after `now` (an hour skipped by the clocks moves on)."""
    local = now.astimezone(zone)
    day = local.date()
    while True:
        candidate = datetime.combine(day, at, zone)
        if candidate > now:
            return candidate
        day += timedelta(days=1)


@contextlib.asynccontextmanager
async def run_retention(ctx: AppContext) -> AsyncIterator[None]:
    """Runs the purge daily at 03:00 in the organisation's zone for the app's lifetime."""
    async def loop() -> None:
        while True:
            now = ctx.clock()
            await asyncio.sleep(max(1.0, (next_run(now, ctx.settings.zone) - now).total_seconds()))
            try:
                counts = await purge(ctx, ctx.clock())
                log.info("retention purge: %s", counts)
            except Exception:  # a failed night must not stop the next one
                log.exception("retention purge failed")

    task = asyncio.create_task(loop(), name="checkin-retention")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
