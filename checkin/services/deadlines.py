"""Durable deadline rows: written or moved whenever a session, its roster or its policy changes."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.context import AppContext
from checkin.domain.rules.deadlines import DeadlineSpec, plan_deadlines
from checkin.services.completion_queue import RULE_ID as COMPLETION
from checkin.services.snapshots import load_session_context, roster_ids
from checkin.storage.database import Tx
from checkin.storage.tables import deadlines, sessions


def deadline_key(spec: DeadlineSpec, session_id: int | None) -> str:
    return f"{spec.rule_id}:s{session_id or '-'}:p{spec.person_id or '-'}:a{spec.alert_id or '-'}:{spec.stage}"


async def write_deadline(conn: AsyncConnection, org_id: int, session_id: int | None, spec: DeadlineSpec,
                         now: datetime, task_id: int | None = None) -> None:
    """Inserts the row for `spec`, or moves its due time if it exists and has not fired."""
    key = deadline_key(spec, session_id)
    moved = await conn.execute(sa.update(deadlines).where(deadlines.c.key == key, deadlines.c.fired_at.is_(None))
                               .values(due_at=spec.due_at))
    if moved.rowcount:
        return
    exists = (await conn.execute(sa.select(deadlines.c.id).where(deadlines.c.key == key))).first()
    if exists is None:
        await conn.execute(sa.insert(deadlines).values(
            org_id=org_id, session_id=session_id, rule_id=spec.rule_id, person_id=spec.person_id,
            alert_id=spec.alert_id, task_id=task_id, key=key, due_at=spec.due_at, created_at=now))


async def replan_session(tx: Tx, ctx: AppContext, session_id: int, now: datetime) -> None:
    """Brings the session's unfired, session-planned deadlines in line with its current state.

    Rows a rule scheduled itself (escalation stages, rebooking) are left alone unless the session
    is no longer scheduled. A DSL-ACK row is never dropped: a safeguarding alert outlives a
    cancelled session. Nor is a pending completion re-evaluation.
    """
    sc = await load_session_context(tx.conn, session_id)
    planned = plan_deadlines(sc.info, await roster_ids(tx.conn, session_id), sc.policy, sc.tz, now)
    keys = {deadline_key(spec, session_id) for spec in planned}
    stale = sa.delete(deadlines).where(deadlines.c.session_id == session_id, deadlines.c.fired_at.is_(None),
                                       deadlines.c.alert_id.is_(None), deadlines.c.rule_id != COMPLETION)
    if keys:
        stale = stale.where(deadlines.c.key.not_in(keys))
    if sc.info.status.value == "scheduled":
        stale = stale.where(deadlines.c.key.like("%:0"))
    await tx.conn.execute(stale)
    for spec in planned:
        await write_deadline(tx.conn, sc.org_id, session_id, spec, now)
    tx.after_commit(lambda: ctx.wake("watcher"))


async def replan_programme(tx: Tx, ctx: AppContext, programme_id: int, now: datetime) -> None:
    """Re-plans every session of the programme that has not yet ended."""
    ids = (await tx.conn.execute(sa.select(sessions.c.id).where(
        sessions.c.programme_id == programme_id, sessions.c.ends_at >= now))).scalars().all()
    for session_id in ids:
        await replan_session(tx, ctx, int(session_id), now)
