"""Tasks staff work through (calls to make, rebookings) and the events team's board for a day."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.context import AppContext
from checkin.domain.errors import Conflict
from checkin.domain.model import Role
from checkin.domain.principal import Principal
from checkin.services.held_on import held_on
from checkin.services.ownership import org_zone, require, session_for
from checkin.storage import events
from checkin.storage.audit import record
from checkin.storage.database import Tx
from checkin.storage.tables import contacts, marks, notices, people, roster, session_tutors, sessions, tasks

# EVENTS-CALL writes kind "call"; "events_call" is the name the product's pages and integrations use.
CALL_KINDS = ("call", "events_call")
ARRIVED = ("present", "late", "left_early")
EXCUSED = ("absent_authorised", "not_possible")


def task_json(r: Any, phones: list[dict[str, str]] | None = None) -> dict[str, Any]:
    facts = r.facts or {}
    return {"id": r.id, "kind": r.kind, "title": r.title, "session_id": r.session_id, "person_id": r.person_id,
            "alert_id": r.alert_id, "assigned_role": r.assigned_role, "assigned_user_id": r.assigned_user_id,
            "state": r.state, "due_at": r.due_at.isoformat() if r.due_at else None,
            "created_at": r.created_at.isoformat(), "done_at": r.done_at.isoformat() if r.done_at else None,
            "done_by": r.done_by, "outcome": facts.get("outcome"), "name": facts.get("name", ""),
            "session_title": facts.get("session_title", ""), "starts_at_local": facts.get("starts_at_local", ""),
            "email": facts.get("email", ""), "phones": phones if phones is not None else _fact_phones(facts)}


def _fact_phones(facts: dict[str, Any]) -> list[dict[str, str]]:
    return [{"name": facts.get("name", ""), "relationship": "self", "phone": facts["phone"]}] \
        if facts.get("phone") else []


async def publish_task(tx: Tx, ctx: AppContext, task_id: int, now: datetime) -> None:
    """A numbered org-channel "task" event with the task as it now stands."""
    row = (await tx.conn.execute(sa.select(tasks).where(tasks.c.id == task_id))).one()
    channel = events.org_channel(row.org_id)
    await events.emit(tx, ctx.hub.publish, channel, "task", task_json(row), now)


async def phones_for(conn: AsyncConnection, person_ids: list[int]) -> dict[int, list[dict[str, str]]]:
    """Numbers to call per person: their contacts with a phone, emergency contacts first, then by priority."""
    out: dict[int, list[dict[str, str]]] = {}
    if not person_ids:
        return out
    rows = (await conn.execute(sa.select(contacts).where(contacts.c.person_id.in_(person_ids), contacts.c.phone != "")
                               .order_by(contacts.c.person_id, contacts.c.priority, contacts.c.id))).all()
    for c in sorted(rows, key=lambda c: (c.kind != "emergency", c.priority, c.id)):
        out.setdefault(c.person_id, []).append({"name": c.name, "relationship": c.relationship or c.kind,
                                                "phone": c.phone})
    return out


async def list_tasks(ctx: AppContext, actor: Principal, *, kind: str | None = None, state: str | None = "open",
                     session_id: int | None = None, day: date | None = None, limit: int = 500) -> list[dict[str, Any]]:
    """Tasks of the organisation (a tutor's: only those of sessions they teach), due soonest first."""
    query = sa.select(tasks).where(tasks.c.org_id == actor.org_id)
    if kind == "events_call":
        query = query.where(tasks.c.kind.in_(CALL_KINDS))
    elif kind:
        query = query.where(tasks.c.kind == kind)
    if state:
        query = query.where(tasks.c.state == state)
    async with ctx.db.read() as conn:
        if session_id is not None:
            await session_for(conn, actor, session_id)
            query = query.where(tasks.c.session_id == session_id)
        if actor.role is Role.TUTOR:
            query = query.where(tasks.c.session_id.in_(
                sa.select(session_tutors.c.session_id).where(session_tutors.c.user_id == actor.user_id)))
        if day is not None:
            tz = await org_zone(conn, actor.org_id)
            query = query.where(tasks.c.session_id.in_(sa.select(sessions.c.id).where(held_on(day, tz))))
        rows = (await conn.execute(query.order_by(tasks.c.due_at, tasks.c.id).limit(limit))).all()
        person_ids = [r.person_id for r in rows if r.person_id is not None]
        phones = await phones_for(conn, person_ids)
        names = await person_names(conn, person_ids)
    out = []
    for r in rows:
        item = task_json(r, _fact_phones(r.facts or {}) + phones.get(r.person_id, []))
        item["name"] = item["name"] or names.get(r.person_id, "")
        out.append(item)
    return out


async def complete_task(ctx: AppContext, actor: Principal, task_id: int, now: datetime,
                        note: str = "") -> dict[str, Any]:
    async def work(tx: Tx) -> dict[str, Any]:
        row = await require(tx.conn, tasks, task_id, actor.org_id, "task")
        if row.session_id is not None:
            await session_for(tx.conn, actor, row.session_id)
        if row.state != "open":
            raise Conflict("task_done", "This task is already done.")
        facts = {**(row.facts or {}), **({"note": note} if note else {})}
        await tx.conn.execute(sa.update(tasks).where(tasks.c.id == task_id).values(
            state="done", done_at=now, done_by=actor.user_id, facts=facts))
        await record(tx.conn, now, actor, "complete", "task", task_id, before={"state": "open"},
                     after={"state": "done", "note": note}, person_id=row.person_id, session_id=row.session_id)
        await publish_task(tx, ctx, task_id, now)
        return task_json((await tx.conn.execute(sa.select(tasks).where(tasks.c.id == task_id))).one())

    return await ctx.db.write(work)


async def session_counts(conn: AsyncConnection, session_ids: list[int]) -> dict[int, dict[str, int]]:
    """Expected, arrived, late, excused and missing per session, from the roster, current marks and notices."""
    counts = {sid: {"expected": 0, "arrived": 0, "late": 0, "excused": 0, "missing": 0} for sid in session_ids}
    if not session_ids:
        return counts
    for sid, n in (await conn.execute(sa.select(roster.c.session_id, sa.func.count()).where(
            roster.c.session_id.in_(session_ids)).group_by(roster.c.session_id))).all():
        counts[sid]["expected"] = n
    status = {(m.session_id, m.person_id): m for m in (await conn.execute(sa.select(
        marks.c.session_id, marks.c.person_id, marks.c.status, marks.c.minutes_late).join(
        roster, sa.and_(roster.c.session_id == marks.c.session_id, roster.c.person_id == marks.c.person_id)).where(
        marks.c.session_id.in_(session_ids)))).all()}
    noticed = {(n.session_id, n.person_id) for n in (await conn.execute(sa.select(
        notices.c.session_id, notices.c.person_id).where(notices.c.session_id.in_(session_ids)))).all()}
    for (sid, pid), m in status.items():
        if m.status in ARRIVED:
            counts[sid]["arrived"] += 1
            counts[sid]["late"] += int(m.status == "late" or m.minutes_late > 0)
        elif m.status in EXCUSED or (sid, pid) in noticed:
            counts[sid]["excused"] += 1
    for sid, _pid in noticed - set(status):
        counts[sid]["excused"] += 1
    for c in counts.values():
        c["missing"] = max(0, c["expected"] - c["arrived"] - c["excused"])
    return counts


async def events_board(ctx: AppContext, actor: Principal, day: date | None, now: datetime) -> dict[str, Any]:
    """Every session of the day (local today by default) with its counts, the call list and the org seq."""
    async with ctx.db.read() as conn:
        tz = await org_zone(conn, actor.org_id)
        day = day or now.astimezone(tz).date()
        rows = (await conn.execute(sa.select(sessions).where(
            sessions.c.org_id == actor.org_id, held_on(day, tz))
            .order_by(sessions.c.starts_at, sessions.c.id))).all()
        counts = await session_counts(conn, [r.id for r in rows])
        seq = await events.last_seq(conn, events.org_channel(actor.org_id))
    calls = await list_tasks(ctx, actor, kind="events_call", state=None, day=day)
    return {"date": day.isoformat(), "timezone": tz.key, "seq": seq, "calls": calls,
            "sessions": [{"id": r.id, "title": r.title, "kind": r.kind, "mode": r.mode, "location": r.location,
                          "status": r.status, "starts_at": r.starts_at.isoformat(), "ends_at": r.ends_at.isoformat(),
                          **counts[r.id]} for r in rows]}


async def person_names(conn: AsyncConnection, ids: list[int]) -> dict[int, str]:
    rows = (await conn.execute(sa.select(people.c.id, people.c.first_name, people.c.last_name)
                               .where(people.c.id.in_(ids)))).all()
    return {r.id: f"{r.first_name} {r.last_name}".strip() for r in rows}
