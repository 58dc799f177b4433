"""Sessions as JSON: the day's list (tutors see only their own) and one session with its tutors."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.context import AppContext
from checkin.domain.model import Role
from checkin.domain.principal import Principal
from checkin.services.held_on import held_on
from checkin.services.ownership import org_zone, session_for
from checkin.services.records import record_of
from checkin.storage.tables import programmes, roster, session_tutors, sessions, users

COLUMNS = ("id", "programme_id", "cohort_id", "external_ref", "title", "kind", "element", "mode", "starts_at",
           "ends_at", "timezone", "location", "mandatory", "status", "status_reason", "cancelled_by",
           "cancelled_at", "register_completed_at", "created_at", "updated_at")


def _select() -> sa.Select[Any]:
    return (sa.select(sessions, programmes.c.name.label("programme_name"))
            .join(programmes, programmes.c.id == sessions.c.programme_id))


async def as_json(conn: AsyncConnection, rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Session rows (from `_select`) with their tutors and roster counts, in the order given."""
    ids = [r.id for r in rows]
    tutors: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    counts: dict[int, int] = {}
    if ids:
        for t in (await conn.execute(
                sa.select(session_tutors.c.session_id, users.c.id, users.c.name, session_tutors.c.checked_in_at)
                .join(users, users.c.id == session_tutors.c.user_id)
                .where(session_tutors.c.session_id.in_(ids)).order_by(users.c.name, users.c.id))).all():
            tutors[t.session_id].append(record_of(t, ("id", "name", "checked_in_at")))
        counts = {int(r[0]): int(r[1]) for r in (await conn.execute(
            sa.select(roster.c.session_id, sa.func.count()).where(roster.c.session_id.in_(ids))
            .group_by(roster.c.session_id))).all()}
    return [record_of(r, COLUMNS) | {"programme_name": r.programme_name, "tutors": tutors[r.id],
                                     "roster_count": counts.get(r.id, 0)} for r in rows]


async def session_json(conn: AsyncConnection, session_id: int) -> dict[str, Any]:
    row = (await conn.execute(_select().where(sessions.c.id == session_id))).one()
    return (await as_json(conn, [row]))[0]


async def get_session(ctx: AppContext, actor: Principal, session_id: int) -> dict[str, Any]:
    async with ctx.db.read() as conn:
        await session_for(conn, actor, session_id)
        return await session_json(conn, session_id)


async def list_sessions(ctx: AppContext, actor: Principal, *, day: date | None = None,
                        programme_id: int | None = None, tutor_id: int | None = None, mine: bool = False,
                        limit: int = 500, offset: int = 0) -> list[dict[str, Any]]:
    """Sessions by start time; `day` (in the organisation's zone) lists those held on it. Tutors get only their own."""
    query = _select().where(sessions.c.org_id == actor.org_id)
    if actor.role is Role.TUTOR or mine:
        query = query.where(_taught_by(actor.user_id))
    if tutor_id is not None:
        query = query.where(_taught_by(tutor_id))
    if programme_id is not None:
        query = query.where(sessions.c.programme_id == programme_id)
    async with ctx.db.read() as conn:
        if day is not None:
            tz = await org_zone(conn, actor.org_id)
            query = query.where(held_on(day, tz))
        rows = (await conn.execute(query.order_by(sessions.c.starts_at, sessions.c.id)
                                   .limit(limit).offset(offset))).all()
        return await as_json(conn, rows)


def _taught_by(user_id: int | None) -> sa.ColumnElement[bool]:
    return sessions.c.id.in_(sa.select(session_tutors.c.session_id).where(session_tutors.c.user_id == user_id))
