"""Creating, rescheduling and cancelling sessions; each change re-plans the session's deadlines."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.context import AppContext
from checkin.domain.errors import Conflict, Invalid
from checkin.domain.model import CancelledBy, Role, SessionStatus
from checkin.domain.principal import Principal
from checkin.domain.rules.cancellation import CancellationEffect, cancellation_effect
from checkin.services.cohorts import cohort_of
from checkin.services.completion import reevaluate_people
from checkin.services.deadlines import replan_session
from checkin.services.ownership import reference, require, session_for
from checkin.services.records import changed, record_of
from checkin.services.register import publish_windows
from checkin.services.session_views import session_json
from checkin.services.snapshots import policy_of, roster_ids
from checkin.storage.audit import record
from checkin.storage.database import Tx
from checkin.storage.tables import organisations, programmes, session_tutors, sessions, tasks, users

_STORED = ("cohort_id", "external_ref", "title", "kind", "element", "mode", "starts_at", "ends_at", "location",
           "mandatory")
_DEFAULTS: dict[str, Any] = {"cohort_id": None, "external_ref": None, "element": "", "location": "",
                             "mandatory": True}
# Changing any of these moves or changes the session's windows.
_PLANNING = ("starts_at", "ends_at", "mode", "kind")


async def create_session(ctx: AppContext, actor: Principal, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A scheduled session of one of the organisation's programmes, with its tutors and deadlines."""
    values = _DEFAULTS | {k: _plain(data[k]) for k in _STORED if data.get(k) is not None}
    values["external_ref"] = values["external_ref"] or None
    _check_times(values["starts_at"], values["ends_at"])

    async def work(tx: Tx) -> dict[str, Any]:
        programme = await reference(tx.conn, programmes, data["programme_id"], actor.org_id, "programme_id",
                                    "programme")
        if values["cohort_id"] is not None:
            await cohort_of(tx.conn, programme.id, values["cohort_id"])
        await _ref_free(tx.conn, actor.org_id, values["external_ref"], None)
        tutor_ids = await _tutors(tx.conn, actor.org_id, data.get("tutor_ids") or [])
        zone = (await tx.conn.execute(sa.select(organisations.c.timezone)
                                      .where(organisations.c.id == actor.org_id))).scalar_one()
        session_id = (await tx.conn.execute(sa.insert(sessions).values(
            org_id=actor.org_id, programme_id=programme.id, timezone=zone, status=SessionStatus.SCHEDULED.value,
            created_at=now, updated_at=now, **values).returning(sessions.c.id))).scalar_one()
        for user_id in tutor_ids:
            await tx.conn.execute(sa.insert(session_tutors).values(session_id=session_id, user_id=user_id))
        await record(tx.conn, now, actor, "create", "session", session_id, session_id=session_id,
                     after=record_of(values, _STORED) | {"programme_id": programme.id, "tutor_ids": tutor_ids})
        await replan_session(tx, ctx, session_id, now)
        return await session_json(tx.conn, session_id)

    return await ctx.db.write(work)


async def update_session(ctx: AppContext, actor: Principal, session_id: int, changes: dict[str, Any],
                         now: datetime) -> dict[str, Any]:
    """Applies `changes`; moving the start or end, or changing mode or kind, re-plans its deadlines."""

    async def work(tx: Tx) -> dict[str, Any]:
        row = await require(tx.conn, sessions, session_id, actor.org_id, "session")
        if row.status != SessionStatus.SCHEDULED.value:
            raise Conflict("session_cancelled", "A cancelled session cannot be changed.")
        before = {k: getattr(row, k) for k in _STORED}
        sent = {k: _plain(v) for k, v in changes.items() if k in _STORED}
        if "external_ref" in sent:
            sent["external_ref"] = sent["external_ref"] or None
        diff = changed(before, sent)
        merged = before | diff
        _check_times(merged["starts_at"], merged["ends_at"])
        if diff.get("cohort_id") is not None:
            await cohort_of(tx.conn, row.programme_id, diff["cohort_id"])
        if "external_ref" in diff:
            await _ref_free(tx.conn, actor.org_id, diff["external_ref"], session_id)
        old_tutors = await _tutor_ids(tx.conn, session_id)
        new_tutors = old_tutors
        if changes.get("tutor_ids") is not None:
            new_tutors = await _tutors(tx.conn, actor.org_id, changes["tutor_ids"])
            await _set_tutors(tx.conn, session_id, old_tutors, new_tutors)
        if diff:
            await tx.conn.execute(sa.update(sessions).where(sessions.c.id == session_id)
                                  .values(updated_at=now, **diff))
        if diff or set(new_tutors) != set(old_tutors):
            tutor_change = ({"tutor_ids": old_tutors}, {"tutor_ids": new_tutors}) \
                if set(new_tutors) != set(old_tutors) else ({}, {})
            await record(tx.conn, now, actor, "update", "session", session_id, session_id=session_id,
                         before=record_of({k: before[k] for k in diff}, diff) | tutor_change[0],
                         after=record_of(diff, diff) | tutor_change[1])
        if any(k in diff for k in _PLANNING):
            await replan_session(tx, ctx, session_id, now)
            await publish_windows(tx, ctx, session_id, now)
        return await session_json(tx.conn, session_id)

    return await ctx.db.write(work)


async def cancel_session(ctx: AppContext, actor: Principal, session_id: int, cancelled_by: CancelledBy, reason: str,
                         now: datetime) -> dict[str, Any]:
    """Cancels the session and drops its pending deadlines.

    LATE-CANCEL: a participant's cancellation under the programme's late_cancel_hours before the
    start is a spent session (derived later from cancelled_by and cancelled_at); a cancellation by
    the coach or the provider never counts against anyone and opens a "reschedule" task.
    """

    async def work(tx: Tx) -> dict[str, Any]:
        row = await session_for(tx.conn, actor, session_id)
        if row.status != SessionStatus.SCHEDULED.value:
            raise Conflict("already_cancelled", "This session is already cancelled.")
        policy_raw = (await tx.conn.execute(sa.select(programmes.c.policy)
                                            .where(programmes.c.id == row.programme_id))).scalar_one()
        effect = cancellation_effect(cancelled_by, now, row.starts_at, policy_of(policy_raw).late_cancel_hours)
        after = {"status": SessionStatus.CANCELLED.value, "status_reason": reason,
                 "cancelled_by": cancelled_by.value, "cancelled_at": now}
        await tx.conn.execute(sa.update(sessions).where(sessions.c.id == session_id).values(updated_at=now, **after))
        if effect is CancellationEffect.RESCHEDULE_TASK:
            await _reschedule_task(tx.conn, row, cancelled_by, reason, now)
        await record(tx.conn, now, actor, "cancel", "session", session_id, session_id=session_id,
                     before={"status": row.status}, after=record_of(after, after) | {"effect": effect.value})
        await replan_session(tx, ctx, session_id, now)
        # A late cancellation by the participant is a spent session: completion may cross a threshold.
        await reevaluate_people(tx, ctx, await roster_ids(tx.conn, session_id), row.programme_id, now)
        return await session_json(tx.conn, session_id) | {"cancellation_effect": effect.value}

    return await ctx.db.write(work)


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def _check_times(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise Invalid("ends_before_start", "A session must end after it starts.", "ends_at")


async def _ref_free(conn: AsyncConnection, org_id: int, ref: str | None, own_id: int | None) -> None:
    if not ref:
        return
    query = sa.select(sessions.c.id).where(sessions.c.org_id == org_id, sessions.c.external_ref == ref)
    if own_id is not None:
        query = query.where(sessions.c.id != own_id)
    if (await conn.execute(query)).first() is not None:
        raise Conflict("external_ref_taken", f"Another session has the reference {ref!r}.", "external_ref")


async def _tutors(conn: AsyncConnection, org_id: int, ids: list[int]) -> list[int]:
    """The distinct ids, each an active tutor of the organisation (422 on the first that is not)."""
    unique = list(dict.fromkeys(ids))
    found = {r.id: r for r in (await conn.execute(sa.select(users.c.id, users.c.role, users.c.active).where(
        users.c.id.in_(unique), users.c.org_id == org_id))).all()}
    for i, user_id in enumerate(ids):
        row = found.get(user_id)
        if row is None or not row.active:
            raise Invalid("invalid_field", f"There is no active staff member {user_id}.", f"tutor_ids[{i}]")
        if row.role != Role.TUTOR.value:
            raise Invalid("not_a_tutor", f"Staff member {user_id} is not a tutor.", f"tutor_ids[{i}]")
    return unique


async def _tutor_ids(conn: AsyncConnection, session_id: int) -> list[int]:
    rows = await conn.execute(sa.select(session_tutors.c.user_id).where(session_tutors.c.session_id == session_id)
                              .order_by(session_tutors.c.user_id))
    return [int(v) for v in rows.scalars()]


async def _set_tutors(conn: AsyncConnection, session_id: int, old: list[int], new: list[int]) -> None:
    """Replaces the tutor set, keeping the check-in times of tutors who stay."""
    gone = set(old) - set(new)
    if gone:
        await conn.execute(sa.delete(session_tutors).where(session_tutors.c.session_id == session_id,
                                                           session_tutors.c.user_id.in_(gone)))
    for user_id in new:
        if user_id not in old:
            await conn.execute(sa.insert(session_tutors).values(session_id=session_id, user_id=user_id))


async def _reschedule_task(conn: AsyncConnection, row: Any, cancelled_by: CancelledBy, reason: str,
                           now: datetime) -> None:
    tutor = (await conn.execute(sa.select(session_tutors.c.user_id).where(session_tutors.c.session_id == row.id)
                                .order_by(session_tutors.c.user_id).limit(1))).scalar()
    await conn.execute(sa.insert(tasks).values(
        org_id=row.org_id, kind="reschedule", session_id=row.id, title=f"Reschedule {row.title}",
        assigned_role=Role.PROGRAMME_MANAGER.value, assigned_user_id=tutor, state="open", created_at=now,
        facts={"session_id": row.id, "cancelled_by": cancelled_by.value, "reason": reason,
               "starts_at": row.starts_at.isoformat()}))
