"""The tablet register: a tutor's sessions for a day, the snapshot a tablet starts from, completion, tutor check-in."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.context import AppContext
from checkin.domain.codes import code_set
from checkin.domain.errors import Conflict, Forbidden
from checkin.domain.model import MarkSource, MarkStatus, Role, SessionInfo, SessionKind, SessionMode, SessionStatus
from checkin.domain.principal import Principal
from checkin.domain.rules.catalogue import Anchor
from checkin.domain.rules.deadlines import due_at
from checkin.domain.rules.policy import Policy
from checkin.services.held_on import held_on
from checkin.services.marking import (
    MarkResult,
    authorise,
    current_marks,
    iso,
    programme_policy,
    record_mark,
    register_closes_at,
    session_row,
)
from checkin.services.notices import notice_json
from checkin.storage import events
from checkin.storage.audit import record
from checkin.storage.database import Tx
from checkin.storage.tables import marks, notices, organisations, people, programmes, roster, session_tutors, sessions
from checkin.storage.tables import users as users_t

LABELS = {
    "AP-REPORT": "AP report due", "AP-NOSHOW": "No-show check", "AP-DSL": "DSL told if no contact",
    "F2F-REGISTER": "Register closes", "REGISTER": "Register closes", "TUTOR-EARLY": "Tutor check-in due",
    "EMPLOYER-SAME-DAY": "Employer told of absences", "EMPLOYER-REMOTE": "Employer contacted",
    "EVENTS-CALL": "No-shows join the call list",
}


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Europe/London")


def session_info(row: Row[Any], checked_in_at: datetime | None = None) -> SessionInfo:
    """The domain's view of a session row (unknown kinds read as workshops, for display only)."""
    kind = SessionKind(row.kind) if row.kind in SessionKind._value2member_map_ else SessionKind.WORKSHOP
    mode = SessionMode(row.mode) if row.mode in SessionMode._value2member_map_ else SessionMode.FACE_TO_FACE
    status = SessionStatus(row.status) if row.status in SessionStatus._value2member_map_ else SessionStatus.SCHEDULED
    return SessionInfo(row.id, row.title, kind, mode, row.starts_at, row.ends_at, row.programme_id, row.element,
                       row.mandatory, status, row.register_completed_at, tutor_checked_in_at=checked_in_at)


def windows(row: Row[Any], policy: Policy, tutor_checked_in: bool = False) -> list[dict[str, Any]]:
    """The session's timed windows from its programme's policy, soonest first, for the countdown.

    The register's own close (start + the register window) is always shown: it is when marks
    become late entries, whether or not the programme alerts on it.
    """
    info, tz = session_info(row), zone(row.timezone)
    out: list[dict[str, Any]] = []
    for rule in policy.rules:
        if rule.spec.anchor in (Anchor.ALERT, Anchor.END) or not rule.applies_to(info):
            continue
        if rule.id == "TUTOR-EARLY" and tutor_checked_in:
            continue
        out.append({"rule_id": rule.id, "label": LABELS.get(rule.id, rule.id),
                    "due_at": iso(due_at(rule, info, policy, tz))})
    if not any(w["rule_id"] == "F2F-REGISTER" for w in out):
        out.append({"rule_id": "REGISTER", "label": LABELS["REGISTER"], "due_at": iso(register_closes_at(row, policy))})
    return sorted(out, key=lambda w: (w["due_at"], w["rule_id"]))


async def load_session(conn: AsyncConnection, actor: Principal, session_id: int) -> Row[Any]:
    """The session if `actor` may see it: 404 for another organisation's, 403 for a tutor's colleague's."""
    row = await session_row(conn, session_id)
    await authorise(conn, actor, row)
    return row


async def _tutors(conn: AsyncConnection, session_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    rows = (await conn.execute(
        sa.select(session_tutors.c.session_id, users_t.c.id, users_t.c.name, session_tutors.c.checked_in_at)
        .join(users_t, users_t.c.id == session_tutors.c.user_id)
        .where(session_tutors.c.session_id.in_(session_ids)).order_by(users_t.c.name))).all()
    out: dict[int, list[dict[str, Any]]] = {sid: [] for sid in session_ids}
    for r in rows:
        out[r.session_id].append({"id": r.id, "name": r.name, "checked_in_at": iso(r.checked_in_at)})
    return out


def session_json(row: Row[Any], tutors: list[dict[str, Any]], roster_count: int) -> dict[str, Any]:
    return {"id": row.id, "programme_id": row.programme_id, "programme_name": row.programme_name,
            "title": row.title, "kind": row.kind, "element": row.element, "mode": row.mode,
            "starts_at": iso(row.starts_at), "ends_at": iso(row.ends_at), "timezone": row.timezone,
            "location": row.location, "mandatory": row.mandatory, "status": row.status, "tutors": tutors,
            "roster_count": roster_count, "register_completed_at": iso(row.register_completed_at)}


def initials(first: str, last: str) -> str:
    return ((first[:1] + last[:1]) or "?").upper()


async def snapshot(ctx: AppContext, actor: Principal, session_id: int) -> dict[str, Any]:
    """Everything a tablet needs to draw the register, with the event number it is current to.

    The sequence number is read first: on PostgreSQL each statement sees newer commits, so the
    data is at least as new as `seq`, and replaying a delta the data already holds is harmless.
    """
    async with ctx.db.read() as conn:
        seq = await events.last_seq(conn, events.session_channel(session_id))
        row = await load_session(conn, actor, session_id)
        return await build_snapshot(conn, ctx, actor, row, seq)


async def build_snapshot(conn: AsyncConnection, ctx: AppContext, actor: Principal, row: Row[Any],
                    seq: int) -> dict[str, Any]:
    tutors = (await _tutors(conn, [row.id]))[row.id]
    listed = (await conn.execute(
        sa.select(people.c.id, people.c.first_name, people.c.last_name)
        .join(roster, roster.c.person_id == people.c.id).where(roster.c.session_id == row.id)
        .order_by(people.c.last_name, people.c.first_name, people.c.id))).all()
    current = await current_marks(conn, row.id)
    policy = programme_policy(row.policy, row.preset)
    latest: dict[int, dict[str, Any]] = {}  # the latest notice per person, as the "notice" delta carries it
    for n in (await conn.execute(sa.select(notices).where(notices.c.session_id == row.id)
                                 .order_by(notices.c.received_at, notices.c.id))).all():
        latest[n.person_id] = notice_json(n, row.starts_at, policy.late_cancel_hours)
    checked_in = any(t["checked_in_at"] for t in tutors)
    return {
        "session": session_json(row, tutors, len(listed)),
        "people": [{"person_id": p.id, "name": f"{p.first_name} {p.last_name}".strip(),
                    "initials": initials(p.first_name, p.last_name), "mark": current.get(p.id),
                    "notice": latest.get(p.id)} for p in listed],
        "seq": seq, "now": iso(ctx.clock()), "windows": windows(row, policy, checked_in),
        "register_closes_at": iso(register_closes_at(row, policy)),
        "code_set": code_set(row.code_set).to_dict(), "reasons": list(row.reasons or []),
        "grace_minutes": row.programme_grace or policy.grace_minutes,
        "me": {"user_id": actor.user_id, "name": actor.name, "role": actor.role.value,
               "teaches": any(t["id"] == actor.user_id for t in tutors)},
    }


async def day_sessions(ctx: AppContext, actor: Principal, day: date | None, mine: bool) -> list[dict[str, Any]]:
    """Sessions on a local day, soonest first: a tutor's own always, other staff's own when `mine`."""
    async with ctx.db.read() as conn:
        tz_name = (await conn.execute(sa.select(organisations.c.timezone)
                                      .where(organisations.c.id == actor.org_id))).scalar() or "Europe/London"
        tz = zone(tz_name)
        day = day or ctx.clock().astimezone(tz).date()
        count_roster = (sa.select(sa.func.count()).where(roster.c.session_id == sessions.c.id)
                        .correlate(sessions).scalar_subquery())
        count_marks = (sa.select(sa.func.count()).where(marks.c.session_id == sessions.c.id)
                       .correlate(sessions).scalar_subquery())
        query = (sa.select(sessions, programmes.c.name.label("programme_name"),
                           count_roster.label("roster_count"), count_marks.label("marked_count"))
                 .join(programmes, programmes.c.id == sessions.c.programme_id)
                 .where(sessions.c.org_id == actor.org_id, held_on(day, tz))
                 .order_by(sessions.c.starts_at, sessions.c.id))
        if mine or actor.role is Role.TUTOR:
            query = query.where(sessions.c.id.in_(
                sa.select(session_tutors.c.session_id).where(session_tutors.c.user_id == actor.user_id)))
        rows = (await conn.execute(query)).all()
        tutors = await _tutors(conn, [r.id for r in rows])
    return [session_json(r, tutors[r.id], int(r.roster_count)) | {"marked_count": int(r.marked_count)}
            for r in rows]


async def submit_mark(ctx: AppContext, actor: Principal, session_id: int, body: dict[str, Any]) -> MarkResult:
    """A mark from a tablet (cookie) or an integration (token)."""
    source = MarkSource.TABLET if actor.via == "cookie" else MarkSource.API

    async def work(tx: Tx) -> MarkResult:
        return await record_mark(
            tx, ctx, session_id=session_id, person_id=body["person_id"], status=MarkStatus(body["status"]),
            code=body.get("code") or None, source=source, actor=actor, now=ctx.clock(), nonce=body["nonce"],
            device=body.get("device") or "", client_time=body["client_time"], arrived_at=body.get("arrived_at"),
            departed_at=body.get("departed_at"), reason=body.get("reason") or "", note=body.get("note") or "")

    return await ctx.db.write(work)


async def _unmarked(conn: AsyncConnection, session_id: int) -> list[dict[str, Any]]:
    rows = (await conn.execute(
        sa.select(people.c.id, people.c.first_name, people.c.last_name)
        .join(roster, roster.c.person_id == people.c.id)
        .outerjoin(marks, sa.and_(marks.c.session_id == roster.c.session_id, marks.c.person_id == people.c.id))
        .where(roster.c.session_id == session_id, marks.c.person_id.is_(None))
        .order_by(people.c.last_name, people.c.first_name))).all()
    return [{"person_id": r.id, "name": f"{r.first_name} {r.last_name}".strip()} for r in rows]


async def complete_register(ctx: AppContext, actor: Principal, session_id: int) -> dict[str, Any]:
    """Marks the register complete once everyone has a mark; completing twice answers with the first."""

    async def work(tx: Tx) -> dict[str, Any]:
        now = ctx.clock()
        row = await load_session(tx.conn, actor, session_id)
        if row.register_completed_at is not None:
            return {"session_id": session_id, "register_completed_at": iso(row.register_completed_at),
                    "by_user_id": row.register_completed_by, "already": True, "seq": None}
        missing = await _unmarked(tx.conn, session_id)
        if missing:
            raise Conflict("register_incomplete", f"{len(missing)} still unmarked: "
                           + ", ".join(m["name"] for m in missing) + ".", unmarked=missing)
        await tx.conn.execute(sa.update(sessions).where(sessions.c.id == session_id).values(
            register_completed_at=now, register_completed_by=actor.user_id, updated_at=now))
        await record(tx.conn, now, actor, "complete_register", "session", session_id, org_id=row.org_id,
                     after={"register_completed_at": iso(now)}, session_id=session_id)
        data = {"session_id": session_id, "register_completed_at": iso(now), "by_user_id": actor.user_id,
                "by": actor.name}
        return await _publish(tx, ctx, session_id, "register_complete", data, now) | {"already": False}

    return await ctx.db.write(work)


async def tutor_checkin(ctx: AppContext, actor: Principal, session_id: int) -> dict[str, Any]:
    """Records the signed-in tutor's arrival for TUTOR-EARLY; the first check-in stands."""

    async def work(tx: Tx) -> dict[str, Any]:
        now = ctx.clock()
        row = await load_session(tx.conn, actor, session_id)
        link = (await tx.conn.execute(sa.select(session_tutors.c.checked_in_at).where(
            session_tutors.c.session_id == session_id, session_tutors.c.user_id == actor.user_id))).first()
        if link is None:
            raise Forbidden("not_a_tutor", "Only a tutor of this session can check in to it.")
        if link.checked_in_at is not None:
            return {"session_id": session_id, "user_id": actor.user_id, "checked_in_at": iso(link.checked_in_at),
                    "already": True, "seq": None}
        await tx.conn.execute(sa.update(session_tutors).where(
            session_tutors.c.session_id == session_id, session_tutors.c.user_id == actor.user_id)
            .values(checked_in_at=now))
        await record(tx.conn, now, actor, "tutor_checkin", "session", session_id, org_id=row.org_id,
                     after={"user_id": actor.user_id, "checked_in_at": iso(now)}, session_id=session_id)
        data = {"session_id": session_id, "user_id": actor.user_id, "name": actor.name, "checked_in_at": iso(now)}
        return await _publish(tx, ctx, session_id, "tutor_checkin", data, now) | {"already": False}

    return await ctx.db.write(work)


async def publish_windows(tx: Tx, ctx: AppContext, session_id: int, now: datetime) -> None:
    """Tells open registers the session's windows moved (call after a reschedule or a policy change)."""
    row = await session_row(tx.conn, session_id)
    checked_in = (await tx.conn.execute(sa.select(session_tutors.c.user_id).where(
        session_tutors.c.session_id == session_id, session_tutors.c.checked_in_at.is_not(None)))).first()
    policy = programme_policy(row.policy, row.preset)
    data = {"windows": windows(row, policy, checked_in is not None),
            "register_closes_at": iso(register_closes_at(row, policy))}
    channel = events.session_channel(session_id)
    await events.emit(tx, ctx.hub.publish, channel, "window", data, now)


async def _publish(tx: Tx, ctx: AppContext, session_id: int, type_: str, data: dict[str, Any],
                   now: datetime) -> dict[str, Any]:
    channel = events.session_channel(session_id)
    event = await events.emit(tx, ctx.hub.publish, channel, type_, data, now)
    tx.after_commit(lambda: ctx.wake("watcher"))
    return data | {"seq": event["seq"]}
