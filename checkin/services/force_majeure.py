"""FORCE-MAJEURE: a whole session affected by weather, strikes, road closures and the like.

The session's status becomes force_majeure (its pending windows are dropped), every
participant on the roster is told by e-mail, absences from it are authorised and left out
of percentages (the completion mapping excludes them), and a task asks staff to offer the
participants a catch-up.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.context import AppContext
from checkin.domain.errors import Conflict
from checkin.domain.model import SessionStatus
from checkin.domain.principal import Principal
from checkin.domain.rules.wording import day_label, hhmm
from checkin.services.alerting import Recipient, send_report
from checkin.services.completion import reevaluate_people
from checkin.services.deadlines import replan_session
from checkin.services.ownership import org_zone, session_for
from checkin.services.records import jsonable
from checkin.storage import events
from checkin.storage.audit import record
from checkin.storage.database import Tx
from checkin.storage.tables import people, roster, sessions, tasks


async def declare_force_majeure(ctx: AppContext, actor: Principal, session_id: int, reason: str,
                                now: datetime) -> dict[str, Any]:
    """Marks the session affected; returns the session's new status and who was notified."""

    async def work(tx: Tx) -> dict[str, Any]:
        conn = tx.conn
        session = await session_for(conn, actor, session_id)
        if session.status != SessionStatus.SCHEDULED.value:
            raise Conflict("session_not_scheduled",
                           f"This session is already {session.status.replace('_', ' ')}.", "session")
        await conn.execute(sa.update(sessions).where(sessions.c.id == session_id).values(
            status=SessionStatus.FORCE_MAJEURE.value, status_reason=reason[:500], updated_at=now))
        await record(conn, now, actor, "force_majeure", "session", session_id, org_id=session.org_id,
                     before={"status": session.status}, after={"status": "force_majeure", "reason": reason},
                     session_id=session_id)
        await replan_session(tx, ctx, session_id, now)
        participants = await _participants(conn, session_id)
        tz = await org_zone(conn, session.org_id)
        base = {"rule_id": "FORCE-MAJEURE", "session_id": session_id, "session_title": session.title,
                "date": day_label(session.starts_at, tz), "starts_at": jsonable(session.starts_at),
                "starts_at_local": hhmm(session.starts_at, tz), "reason": reason, "catch_up_offered": True,
                "next_action": "We will be in touch about how to catch up on what the session covers."}
        notified: list[int] = []
        for p in participants:
            if not p.email:
                continue
            name = f"{p.first_name} {p.last_name}".strip()
            await send_report(tx, ctx, org_id=session.org_id, kind="force_majeure",
                              subject_facts=base | {"person_id": p.id, "name": name},
                              recipients=[Recipient("participant", "email", p.email, name)], now=now,
                              session_id=session_id, person_id=p.id)
            notified.append(p.id)
        ids = [p.id for p in participants]
        if ids:
            await conn.execute(sa.insert(tasks).values(
                org_id=session.org_id, kind="catch_up_offer", session_id=session_id, person_id=None,
                title=f"Offer a catch-up to the {len(ids)} participant(s) of \"{session.title}\" "
                      f"(force majeure)"[:300],
                assigned_role="programme_manager", facts={"reason": reason, "person_ids": ids},
                due_at=None, state="open", created_at=now))
        channel = events.session_channel(session_id)
        await events.emit(tx, ctx.hub.publish, channel, "notice", {
            "person_id": None, "kind": "force_majeure", "status": SessionStatus.FORCE_MAJEURE.value,
            "reason": reason}, now)
        await reevaluate_people(tx, ctx, ids, session.programme_id, now)
        return {"session_id": session_id, "status": SessionStatus.FORCE_MAJEURE.value, "status_reason": reason,
                "notified_person_ids": notified, "participants": len(ids)}

    return await ctx.db.write(work)


async def _participants(conn: AsyncConnection, session_id: int) -> list[Any]:
    return list((await conn.execute(
        sa.select(people.c.id, people.c.first_name, people.c.last_name, people.c.email)
        .join(roster, roster.c.person_id == people.c.id)
        .where(roster.c.session_id == session_id, people.c.deleted_at.is_(None))
        .order_by(people.c.last_name, people.c.id))).all())
