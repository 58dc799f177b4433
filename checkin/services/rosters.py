"""Who is expected at a session: read with enrolment status, replaced explicitly by managers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.context import AppContext
from checkin.domain.errors import Conflict, Invalid
from checkin.domain.principal import Principal
from checkin.services.deadlines import replan_session
from checkin.services.ownership import require, session_for
from checkin.services.records import jsonable
from checkin.storage.audit import record
from checkin.storage.database import Tx
from checkin.storage.tables import enrolments, marks, people, roster, sessions


async def get_roster(ctx: AppContext, actor: Principal, session_id: int) -> list[dict[str, Any]]:
    async with ctx.db.read() as conn:
        row = await session_for(conn, actor, session_id)
        return await _roster(conn, session_id, row.programme_id)


async def set_roster(ctx: AppContext, actor: Principal, session_id: int, person_ids: list[int],
                     now: datetime) -> list[dict[str, Any]]:
    """Replaces the roster with `person_ids` (repeats ignored) and re-plans the session's deadlines.

    Rosters stay explicit: a person need not be enrolled (the roster shows their enrolment
    status instead). Someone who already has a mark in this session cannot be taken off, so no
    recorded attendance drops out of the register.
    """
    wanted = list(dict.fromkeys(person_ids))

    async def work(tx: Tx) -> list[dict[str, Any]]:
        row = await require(tx.conn, sessions, session_id, actor.org_id, "session")
        found = set((await tx.conn.execute(sa.select(people.c.id).where(
            people.c.id.in_(wanted), people.c.org_id == actor.org_id, people.c.deleted_at.is_(None)))).scalars())
        for i, person_id in enumerate(person_ids):
            if person_id not in found:
                raise Invalid("invalid_field", f"There is no person {person_id} in your organisation.",
                              f"person_ids[{i}]")
        current = [int(v) for v in (await tx.conn.execute(
            sa.select(roster.c.person_id).where(roster.c.session_id == session_id)
            .order_by(roster.c.person_id))).scalars()]
        gone = sorted(set(current) - set(wanted))
        marked = sorted(set((await tx.conn.execute(sa.select(marks.c.person_id).where(
            marks.c.session_id == session_id, marks.c.person_id.in_(gone)))).scalars())) if gone else []
        if marked:
            raise Conflict("has_marks", "People with a mark in this session cannot be taken off its roster.",
                           "person_ids", person_ids=marked)
        added = [p for p in wanted if p not in set(current)]
        if gone:
            await tx.conn.execute(sa.delete(roster).where(roster.c.session_id == session_id,
                                                          roster.c.person_id.in_(gone)))
        for person_id in added:
            await tx.conn.execute(sa.insert(roster).values(session_id=session_id, person_id=person_id, added_at=now))
        if gone or added:
            await record(tx.conn, now, actor, "update", "roster", session_id, session_id=session_id,
                         before={"person_ids": current}, after={"person_ids": sorted(wanted)})
            await replan_session(tx, ctx, session_id, now)
        return await _roster(tx.conn, session_id, row.programme_id)

    return await ctx.db.write(work)


async def _roster(conn: AsyncConnection, session_id: int, programme_id: int) -> list[dict[str, Any]]:
    rows = (await conn.execute(
        sa.select(people.c.id, people.c.first_name, people.c.last_name, people.c.external_ref, people.c.ap_pupil,
                  people.c.on_school_roll, roster.c.added_at, enrolments.c.status.label("enrolment_status"))
        .join(roster, roster.c.person_id == people.c.id)
        .outerjoin(enrolments, sa.and_(enrolments.c.person_id == people.c.id,
                                       enrolments.c.programme_id == programme_id))
        .where(roster.c.session_id == session_id, people.c.deleted_at.is_(None))
        .order_by(people.c.last_name, people.c.first_name, people.c.id))).all()
    return [{"person_id": r.id, "name": f"{r.first_name} {r.last_name}".strip(), "first_name": r.first_name,
             "last_name": r.last_name, "external_ref": r.external_ref, "ap_pupil": r.ap_pupil,
             "on_school_roll": r.on_school_roll, "enrolment_status": r.enrolment_status,
             "added_at": jsonable(r.added_at)} for r in rows]
