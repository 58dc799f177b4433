"""Absence notices and cancellations (RULES NOTICE, LATE-CANCEL): recorded, shown live, counted.

A notice names a reason from the programme's list; an accepted reason authorises the
absence. A notice that arrives after the start is still recorded, with its lateness. A
cancellation by the participant under the programme's late-cancel hours (24) before the
start is a spent session; one by the coach or provider never counts against the
participant and opens a "reschedule" task.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.context import AppContext
from checkin.domain.errors import Conflict, Invalid
from checkin.domain.model import CancelledBy, SessionStatus
from checkin.domain.principal import Principal
from checkin.domain.rules.cancellation import CancellationEffect, cancellation_effect
from checkin.services.completion import reevaluate_person
from checkin.services.marking import programme_policy
from checkin.services.ownership import session_for
from checkin.services.records import jsonable
from checkin.storage import events
from checkin.storage.audit import record
from checkin.storage.database import Tx
from checkin.storage.tables import notices, people, programmes, roster, tasks, users

KINDS = ("absence", "cancellation")
CLOCK_SKEW = timedelta(minutes=2)  # a notice "received" a moment ahead of the server's clock is not refused


def notice_json(row: Any, starts_at: datetime, late_cancel_hours: int = 24) -> dict[str, Any]:
    """A notice as the API shows it, with how late it came and, for a cancellation, what it means."""
    after = (row.received_at - starts_at).total_seconds()
    data = {
        "id": row.id, "session_id": row.session_id, "person_id": row.person_id, "kind": row.kind,
        "reason": row.reason, "accepted": bool(row.accepted), "given_by": row.given_by,
        "cancelled_by": row.cancelled_by or None, "received_at": jsonable(row.received_at),
        "after_start": bool(row.after_start), "minutes_after_start": max(int(after // 60), 0),
        "recorded_by": row.recorded_by, "effect": None,
    }
    if row.kind == "cancellation" and row.cancelled_by:
        data["effect"] = cancellation_effect(CancelledBy(row.cancelled_by), row.received_at, starts_at,
                                             late_cancel_hours).value
    return data


async def _programme(conn: AsyncConnection, programme_id: int) -> Any:
    return (await conn.execute(sa.select(programmes).where(programmes.c.id == programme_id))).one()


def _reason(programme: Any, reason: str) -> tuple[str, bool]:
    """The programme's spelling of the reason and whether it is accepted; 422 for a reason not on its list."""
    listed = [r for r in (programme.reasons or []) if isinstance(r, dict) and "reason" in r]
    for item in listed:
        if str(item["reason"]).casefold() == reason.casefold():
            return str(item["reason"]), bool(item.get("accepted"))
    names = ", ".join(str(r["reason"]) for r in listed) or "none configured"
    raise Invalid("unknown_reason", f"'{reason}' is not one of this programme's reasons ({names}).", "reason",
                  reasons=[str(r["reason"]) for r in listed])


async def record_notice(ctx: AppContext, actor: Principal, session_id: int, *, person_id: int, reason: str,
                        given_by: str, now: datetime, received_at: datetime | None = None, kind: str = "absence",
                        cancelled_by: str | None = None) -> dict[str, Any]:
    """Records the notice, appends a numbered "notice" event on the session channel and re-evaluates completion."""
    received = received_at or now
    if received > now + CLOCK_SKEW:
        raise Invalid("received_in_future", "A notice cannot have been received in the future.", "received_at")
    if kind not in KINDS:
        raise Invalid("invalid_choice", f"kind must be one of: {', '.join(KINDS)}", "kind")

    async def work(tx: Tx) -> dict[str, Any]:
        conn = tx.conn
        session = await session_for(conn, actor, session_id)
        if session.status != SessionStatus.SCHEDULED.value:
            raise Conflict("session_not_scheduled", f"This session is {session.status.replace('_', ' ')}.", "session")
        on_roster = (await conn.execute(sa.select(roster.c.person_id).where(
            roster.c.session_id == session_id, roster.c.person_id == person_id))).first()
        if on_roster is None:
            raise Invalid("not_on_roster", "That person is not on this session's roster.", "person_id")
        programme = await _programme(conn, session.programme_id)
        policy = programme_policy(programme.policy, programme.preset)
        if kind == "absence":
            text, accepted = _reason(programme, reason)
            by = ""
        else:
            if cancelled_by not in {c.value for c in CancelledBy}:
                raise Invalid("required", "A cancellation says who cancelled: participant, coach or provider.",
                              "cancelled_by")
            text, by = reason, str(cancelled_by)
            effect = cancellation_effect(CancelledBy(by), received, session.starts_at, policy.late_cancel_hours)
            accepted = effect is not CancellationEffect.SPENT
        values = dict(session_id=session_id, person_id=person_id, kind=kind, reason=text[:200], accepted=accepted,
                      given_by=given_by[:200], cancelled_by=by, received_at=received, recorded_by=actor.user_id,
                      after_start=received > session.starts_at)
        notice_id = int((await conn.execute(sa.insert(notices).values(**values).returning(notices.c.id))).scalar_one())
        row = (await conn.execute(sa.select(notices).where(notices.c.id == notice_id))).one()
        data = notice_json(row, session.starts_at, policy.late_cancel_hours)
        await record(conn, now, actor, "create", "notice", notice_id, org_id=session.org_id, after=data,
                     person_id=person_id, session_id=session_id)
        if data["effect"] == CancellationEffect.RESCHEDULE_TASK.value:
            await _reschedule_task(conn, session, person_id, by, text, now)
        channel = events.session_channel(session_id)
        await events.emit(tx, ctx.hub.publish, channel, "notice", {"person_id": person_id, "notice": data}, now)
        tx.after_commit(lambda: ctx.wake("watcher"))
        await reevaluate_person(tx, ctx, person_id, session.programme_id, now)
        return data

    return await ctx.db.write(work)


async def _reschedule_task(conn: AsyncConnection, session: Any, person_id: int, by: str, reason: str,
                           now: datetime) -> None:
    """PSW 2.1.2: a session the coach cancelled is rescheduled at the next available opportunity."""
    person = (await conn.execute(sa.select(people.c.first_name, people.c.last_name).where(
        people.c.id == person_id))).one()
    name = f"{person.first_name} {person.last_name}".strip()
    await conn.execute(sa.insert(tasks).values(
        org_id=session.org_id, kind="reschedule", session_id=session.id, person_id=person_id,
        title=f"Reschedule \"{session.title}\" with {name} (cancelled by the {by})"[:300],
        assigned_role="programme_manager", facts={"cancelled_by": by, "reason": reason, "name": name,
                                                  "session_title": session.title,
                                                  "starts_at": jsonable(session.starts_at)},
        due_at=None, state="open", created_at=now))


async def list_notices(ctx: AppContext, actor: Principal, session_id: int) -> list[dict[str, Any]]:
    """Every notice of the session, oldest first, with who recorded it."""
    async with ctx.db.read() as conn:
        session = await session_for(conn, actor, session_id)
        programme = await _programme(conn, session.programme_id)
        hours = programme_policy(programme.policy, programme.preset).late_cancel_hours
        rows = (await conn.execute(sa.select(notices, users.c.name.label("recorded_by_name"))
                                   .outerjoin(users, users.c.id == notices.c.recorded_by)
                                   .where(notices.c.session_id == session_id)
                                   .order_by(notices.c.received_at, notices.c.id))).all()
    return [notice_json(r, session.starts_at, hours) | {"recorded_by_name": r.recorded_by_name or ""}
            for r in rows]
