"""Legal holds: a person's or a session's records kept from purge and erasure until released."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.context import AppContext
from checkin.domain.errors import Conflict, Invalid, NotFound
from checkin.domain.principal import Principal
from checkin.storage.audit import record
from checkin.storage.database import Tx
from checkin.storage.tables import legal_holds, mark_history, people, roster, sessions, users


def active_person_ids() -> sa.Select[Any]:
    return sa.select(legal_holds.c.person_id).where(legal_holds.c.released_at.is_(None),
                                                     legal_holds.c.person_id.is_not(None))


def active_session_ids() -> sa.Select[Any]:
    return sa.select(legal_holds.c.session_id).where(legal_holds.c.released_at.is_(None),
                                                      legal_holds.c.session_id.is_not(None))


def hold_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "person_id": row.person_id, "session_id": row.session_id, "reason": row.reason,
            "placed_by": row.placed_by, "placed_by_name": row.placed_by_name or "",
            "placed_at": row.placed_at.isoformat(),
            "released_at": row.released_at.isoformat() if row.released_at else None,
            "released_by": row.released_by, "release_note": row.release_note}


def _query() -> sa.Select[Any]:
    return sa.select(legal_holds, users.c.name.label("placed_by_name")).outerjoin(
        users, users.c.id == legal_holds.c.placed_by)


async def list_holds(conn: AsyncConnection, org_id: int, *, active_only: bool = True,
                     person_id: int | None = None) -> list[dict[str, Any]]:
    q = _query().where(legal_holds.c.org_id == org_id)
    if active_only:
        q = q.where(legal_holds.c.released_at.is_(None))
    if person_id is not None:
        q = q.where(legal_holds.c.person_id == person_id)
    return [hold_json(r) for r in (await conn.execute(q.order_by(legal_holds.c.id))).all()]


async def holds_on(conn: AsyncConnection, org_id: int, person_id: int) -> list[dict[str, Any]]:
    """Active holds that cover the person: on them, or on a session they were rostered on or marked in."""
    their_sessions = sa.union(sa.select(roster.c.session_id).where(roster.c.person_id == person_id),
                              sa.select(mark_history.c.session_id).where(mark_history.c.person_id == person_id))
    q = _query().where(legal_holds.c.org_id == org_id, legal_holds.c.released_at.is_(None),
                       sa.or_(legal_holds.c.person_id == person_id, legal_holds.c.session_id.in_(their_sessions)))
    return [hold_json(r) for r in (await conn.execute(q.order_by(legal_holds.c.id))).all()]


async def place(ctx: AppContext, actor: Principal, *, person_id: int | None, session_id: int | None, reason: str,
                now: datetime) -> dict[str, Any]:
    """Places a hold on one person or one session of the actor's organisation."""
    if (person_id is None) == (session_id is None):
        raise Invalid("hold_target", "Hold either one person or one session.", "person_id")
    if not reason.strip():
        raise Invalid("required", "Say why the records must be kept.", "reason")

    async def work(tx: Tx) -> int:
        table, target = (people, person_id) if person_id is not None else (sessions, session_id)
        found = (await tx.conn.execute(sa.select(table.c.id).where(table.c.id == target,
                                                                   table.c.org_id == actor.org_id))).first()
        if found is None:
            raise NotFound("not_found", "No such person." if table is people else "No such session.")
        hold_id = (await tx.conn.execute(sa.insert(legal_holds).values(
            org_id=actor.org_id, person_id=person_id, session_id=session_id, reason=reason, placed_by=actor.user_id,
            placed_at=now).returning(legal_holds.c.id))).scalar_one()
        await record(tx.conn, now, actor, "place", "legal_hold", hold_id, person_id=person_id, session_id=session_id,
                     after={"reason": reason})
        return int(hold_id)

    hold_id = await ctx.db.write(work)
    async with ctx.db.read() as conn:
        row = (await conn.execute(_query().where(legal_holds.c.id == hold_id))).one()
    return hold_json(row)


async def release(ctx: AppContext, actor: Principal, hold_id: int, note: str, now: datetime) -> dict[str, Any]:
    async def work(tx: Tx) -> None:
        row = (await tx.conn.execute(sa.select(legal_holds).where(legal_holds.c.id == hold_id,
                                                                  legal_holds.c.org_id == actor.org_id))).first()
        if row is None:
            raise NotFound("not_found", "No such legal hold.")
        if row.released_at is not None:
            raise Conflict("already_released", "That hold was already released.")
        await tx.conn.execute(sa.update(legal_holds).where(legal_holds.c.id == hold_id).values(
            released_at=now, released_by=actor.user_id, release_note=note))
        await record(tx.conn, now, actor, "release", "legal_hold", hold_id, person_id=row.person_id,
                     session_id=row.session_id, before={"reason": row.reason}, after={"note": note})

    await ctx.db.write(work)
    async with ctx.db.read() as conn:
        return hold_json((await conn.execute(_query().where(legal_holds.c.id == hold_id))).one())
