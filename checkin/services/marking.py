"""Recording a mark: every write is a new history row; the current mark is chosen by one rule.

Convergence rule. Each history row has an effective time: the device's `client_time`
clamped to at most the server's receipt time (a device clock running fast cannot win the
future). The current mark of a person in a session is the history row with the greatest
(effective time, history id). So a mark made offline at 09:03 and synced at 09:10 loses to
a mark another tablet made at 09:05, whichever reached the server first, and two tablets
always converge on the same row; equal effective times are settled by arrival order.

Idempotency: a write carrying a nonce that is already recorded changes nothing and answers
with the first write's history id and the person's current mark.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.context import AppContext
from checkin.domain.codes import CodeSet, UnknownCode, code_set
from checkin.domain.errors import Conflict, Forbidden, Invalid, NotFound
from checkin.domain.model import MarkSource, MarkStatus, Role
from checkin.domain.principal import Principal
from checkin.domain.rules.policy import Policy
from checkin.services.completion_queue import QUEUED, evaluates, queue_reevaluation
from checkin.services.snapshots import policy_of
from checkin.storage import events
from checkin.storage.audit import record
from checkin.storage.database import Tx
from checkin.storage.prepared import Derived, Prepared
from checkin.storage.tables import mark_history, marks, people, programmes, roster, session_tutors, sessions, users

ATTENDING = frozenset({MarkStatus.PRESENT, MarkStatus.LATE, MarkStatus.LEFT_EARLY})
# Automatic sources carry their own why (the scan, the rule); people and files must give one.
REASON_SOURCES = frozenset({MarkSource.TABLET, MarkSource.API, MarkSource.IMPORT})


@dataclass(frozen=True)
class MarkResult:
    history_id: int
    duplicate: bool  # the nonce was already recorded: nothing changed, the first write's id is returned
    current: dict[str, Any]  # the person's current mark after this write, as JSON
    changed: bool  # whether the current mark changed (an older client_time may lose to a newer mark)
    late_entry: bool = False  # this write came after the register was completed or its window closed
    seq: int | None = None  # the live event's number on the session channel (None for a duplicate)


def effective_time(client_time: datetime | None, server_time: datetime) -> datetime:
    """The time a mark counts as made: the device's time, never later than the server received it."""
    return server_time if client_time is None else min(client_time, server_time)


def iso(moment: datetime | None) -> str | None:
    """UTC with microseconds always shown, so the strings sort as the instants do."""
    return None if moment is None else moment.isoformat(timespec="microseconds")


def programme_policy(policy_json: Any, preset_name: str) -> Policy:
    """The programme's policy; an empty one means the preset's."""
    return policy_of(policy_json, preset_name)


# A session row's policy, parsed once per row object (the session read is memoised).
session_policy: Derived[Policy] = Derived(lambda session: programme_policy(session.policy, session.preset))
session_evaluated: Derived[bool] = Derived(lambda session: evaluates(session.requirements))


def register_closes_at(session: Any, policy: Policy) -> datetime:
    starts_at: datetime = session.starts_at
    return starts_at + timedelta(minutes=policy.register_window_minutes)


# The statements every mark runs, prepared once (storage/prepared.py says why).
_SESSION_ROW = Prepared(
    sa.select(sessions, programmes.c.name.label("programme_name"), programmes.c.code_set,
              programmes.c.policy, programmes.c.preset, programmes.c.reasons, programmes.c.requirements,
              programmes.c.grace_minutes.label("programme_grace"), programmes.c.qr_rotation_seconds)
    .join(programmes, programmes.c.id == sessions.c.programme_id)
    .where(sessions.c.id == sa.bindparam("session_id")), memo=1024)
# The roster row (locked: it serialises marks for one person on PostgreSQL; SQLite has one
# writer), the person's first name and their current mark, in one read.
_SUBJECT = Prepared(
    sa.select(roster.c.person_id.label("rostered"), people.c.first_name, people.c.deleted_at, marks,
              mark_history.c.late_entry, users.c.name.label("by"))
    .select_from(roster.join(people, people.c.id == roster.c.person_id)
                 .outerjoin(marks, sa.and_(marks.c.session_id == roster.c.session_id,
                                           marks.c.person_id == roster.c.person_id))
                 .outerjoin(mark_history, mark_history.c.id == marks.c.history_id)
                 .outerjoin(users, users.c.id == marks.c.actor_user_id))
    .where(roster.c.session_id == sa.bindparam("session_id"), roster.c.person_id == sa.bindparam("person_id"))
    .with_for_update(of=roster))
_INSERT_HISTORY = Prepared(sa.insert(mark_history).returning(mark_history.c.id))
_INSERT_MARK = Prepared(sa.insert(marks))
_UPDATE_MARK = Prepared(sa.update(marks).where(marks.c.session_id == sa.bindparam("where_session"),
                                               marks.c.person_id == sa.bindparam("where_person")))
_SUPERSEDE = Prepared(sa.update(mark_history).where(mark_history.c.id == sa.bindparam("history_id"))
                      .values(superseded=True))


async def find_session_row(conn: AsyncConnection, session_id: int) -> Any | None:
    """The session joined with what marking and check-in need from its programme, or None."""
    return await _SESSION_ROW.first(conn, {"session_id": session_id})


async def session_row(conn: AsyncConnection, session_id: int) -> Any:
    """The session as find_session_row reads it; NotFound when absent."""
    row = await find_session_row(conn, session_id)
    if row is None:
        raise NotFound("not_found", "No such session.")
    return row


@dataclass(frozen=True)
class Subject:
    """A person in a session as a mark finds them: the session, their roster row, name and current mark."""

    session: Any
    rostered: bool
    deleted: bool
    first_name: str
    current: Any | None  # the current mark with its history row's late_entry and its author's name


async def load_subject(conn: AsyncConnection, session_id: int, person_id: int, session: Any | None = None
                       ) -> Subject:
    """Reads (and on PostgreSQL locks) what a mark for this person needs; NotFound without the session.

    `session` is the session row when this transaction has already read it (find_session_row).
    """
    if session is None:
        session = await session_row(conn, session_id)
    row = await _SUBJECT.first(conn, {"session_id": session_id, "person_id": person_id})
    if row is None:
        return Subject(session, False, False, "", None)
    return Subject(session, True, row.deleted_at is not None, row.first_name or "",
                   row if row.history_id is not None else None)


async def authorise(conn: AsyncConnection, actor: Principal | None, session: Any) -> None:
    """Another organisation's session is not found; a tutor may act only on sessions they teach."""
    if actor is None or actor.via == "system":
        return
    if session.org_id != actor.org_id:
        raise NotFound("not_found", "No such session.")
    if actor.role is Role.TUTOR:
        teaches = (await conn.execute(sa.select(session_tutors.c.user_id).where(
            session_tutors.c.session_id == session.id, session_tutors.c.user_id == actor.user_id))).first()
        if teaches is None:
            raise Forbidden("not_your_session", "You can only act on sessions you teach.")


def _current_query() -> sa.Select[Any]:
    return (sa.select(marks, mark_history.c.late_entry, users.c.name.label("by"))
            .join(mark_history, mark_history.c.id == marks.c.history_id)
            .outerjoin(users, users.c.id == marks.c.actor_user_id))


_CURRENT_ONE = Prepared(_current_query().where(marks.c.session_id == sa.bindparam("session_id"),
                                               marks.c.person_id == sa.bindparam("person_id")))


async def current_marks(conn: AsyncConnection, session_id: int) -> dict[int, dict[str, Any]]:
    """Every current mark in the session, by person id."""
    rows = (await conn.execute(_current_query().where(marks.c.session_id == session_id))).all()
    return {r.person_id: mark_json(r._mapping) for r in rows}


async def current_mark(conn: AsyncConnection, session_id: int, person_id: int) -> dict[str, Any] | None:
    row = await _CURRENT_ONE.first(conn, {"session_id": session_id, "person_id": person_id})
    return None if row is None else mark_json(row._mapping)


def mark_json(m: Any) -> dict[str, Any]:
    """A mark or history row as the API shows it."""
    return {
        "person_id": m["person_id"], "status": m["status"], "code": m["code"], "reason": m["reason"],
        "note": m["note"], "arrived_at": iso(m["arrived_at"]), "departed_at": iso(m["departed_at"]),
        "minutes_late": m["minutes_late"], "source": m["source"], "device": m["device"],
        "by_user_id": m["actor_user_id"], "by": m.get("by") or "",
        "client_time": iso(m["client_time"]), "server_time": iso(m["server_time"]),
        "effective_at": iso(effective_time(m["client_time"], m["server_time"])),
        "history_id": m["history_id"] if "history_id" in m else m["id"],
        "late_entry": bool(m.get("late_entry", False)),
    }


def resolve_code(codes: CodeSet, status: MarkStatus, code: str | None, late_after_close: bool) -> str:
    """The given code when it fits the status, else the set's default for the status."""
    default = codes.default_for(status, late_after_close).code
    if not code:
        return default
    try:
        chosen = codes.lookup(code)
    except UnknownCode as exc:
        raise Invalid("unknown_code", exc.message, "code") from exc
    fitting = {default, codes.default_for(status).code}
    if chosen.status is not status and chosen.code not in fitting:
        raise Invalid("code_status_mismatch",
                      f"Code {chosen.code} ({chosen.label}) is not a {status.value.replace('_', ' ')} code.", "code")
    return chosen.code


def _times(status: MarkStatus, effective: datetime, arrived_at: datetime | None, departed_at: datetime | None,
           current: Any | None) -> tuple[datetime | None, datetime | None]:
    """Arrival defaults to when the mark was made; leaving early keeps the arrival already recorded."""
    if status not in ATTENDING and arrived_at is not None:
        raise Invalid("invalid_field", "An absence has no arrival time.", "arrived_at")
    if status is not MarkStatus.LEFT_EARLY and departed_at is not None:
        raise Invalid("invalid_field", "Only a left-early mark has a departure time.", "departed_at")
    if status is MarkStatus.LEFT_EARLY:
        if arrived_at is None and current is not None and current.status in {s.value for s in ATTENDING}:
            arrived_at = current.arrived_at
        departed_at = departed_at or effective
        if arrived_at is not None and departed_at < arrived_at:
            raise Invalid("invalid_field", "The departure is before the arrival.", "departed_at")
    elif status in ATTENDING:
        arrived_at = arrived_at or effective
    return arrived_at, departed_at


async def _duplicate(conn: AsyncConnection, first: Row[Any], session_id: int, person_id: int) -> MarkResult:
    if (first.session_id, first.person_id) != (session_id, person_id):
        raise Conflict("nonce_reused", "This nonce was already used for a different mark.", "nonce")
    current = await current_mark(conn, session_id, person_id)
    return MarkResult(first.id, True, current or {}, False, bool(first.late_entry))


async def _by_nonce(conn: AsyncConnection, nonce: str) -> Any:
    return (await conn.execute(sa.select(mark_history.c.id, mark_history.c.session_id, mark_history.c.person_id,
                                         mark_history.c.late_entry).where(mark_history.c.nonce == nonce))).first()


async def record_mark(tx: Tx, ctx: AppContext, *, session_id: int, person_id: int, status: MarkStatus,
                      code: str | None, source: MarkSource, actor: Principal | None, now: datetime,
                      nonce: str | None = None, device: str = "", client_time: datetime | None = None,
                      arrived_at: datetime | None = None, departed_at: datetime | None = None,
                      minutes_late: int = 0, reason: str = "", note: str = "",
                      event_type: str = "mark", subject: Subject | None = None) -> MarkResult:
    """Appends a history row, moves the current mark by the convergence rule, and publishes it after commit.

    `subject` is what the caller already read in this transaction with `load_subject`.
    """
    conn = tx.conn
    if subject is None:
        subject = await load_subject(conn, session_id, person_id)
    session, current = subject.session, subject.current
    await authorise(conn, actor, session)
    if nonce:
        first = await _by_nonce(conn, nonce)
        if first is not None:
            return await _duplicate(conn, first, session_id, person_id)
    if not subject.rostered:
        raise Invalid("not_on_roster", "That person is not on this session's roster.", "person_id")

    effective = effective_time(client_time, now)
    policy = session_policy(session)
    closes_at = register_closes_at(session, policy)
    completed_at: datetime | None = session.register_completed_at
    after_completion = completed_at is not None and effective >= completed_at
    if after_completion and current is not None and source in REASON_SOURCES and not reason.strip():
        raise Invalid("reason_required", "The register is complete: say why this mark is being changed.", "reason")
    arrived_at, departed_at = _times(status, effective, arrived_at, departed_at, current)
    late_after_close = status is MarkStatus.LATE and arrived_at is not None and arrived_at > closes_at
    chosen_code = resolve_code(code_set(session.code_set), status, code, late_after_close)
    if status in {MarkStatus.LATE, MarkStatus.LEFT_EARLY} and not minutes_late and arrived_at is not None:
        grace = session.programme_grace or policy.grace_minutes
        late_by = (arrived_at - session.starts_at).total_seconds() / 60
        minutes_late = math.floor(late_by) if late_by > grace else 0
    late_entry = after_completion or effective > closes_at

    values = dict(session_id=session_id, person_id=person_id, status=status.value, code=chosen_code,
                  reason=reason, note=note, arrived_at=arrived_at, departed_at=departed_at,
                  minutes_late=max(minutes_late, 0), source=source.value,
                  actor_user_id=actor.user_id if actor else None, device=device[:100],
                  client_time=client_time, server_time=now)
    history = {**values, "nonce": nonce or None, "late_entry": late_entry}
    if nonce:
        try:
            async with conn.begin_nested():  # a racing write of the same nonce answers as a duplicate
                history_id = int(await _INSERT_HISTORY.scalar(conn, history))
        except IntegrityError:
            first = await _by_nonce(conn, nonce)
            if first is None:
                raise
            return await _duplicate(conn, first, session_id, person_id)
    else:
        history_id = int(await _INSERT_HISTORY.scalar(conn, history))

    changed = current is None or (effective, history_id) > (
        effective_time(current.client_time, current.server_time), current.history_id)
    if changed:
        if current is None:
            await _INSERT_MARK.run(conn, {**values, "history_id": history_id})
        else:
            await _UPDATE_MARK.run(conn, {**values, "history_id": history_id, "where_session": session_id,
                                          "where_person": person_id})
            await _SUPERSEDE.run(conn, {"history_id": current.history_id})
    else:
        await _SUPERSEDE.run(conn, {"history_id": history_id})

    recorded = mark_json({**values, "id": history_id, "late_entry": late_entry, "by": actor.name if actor else ""})
    before = None if current is None else mark_json(current._mapping)
    # the current mark now: this one (its author named as a user, as the stored mark reads), or the one that stands
    after = {**recorded, "by": actor.name if actor and actor.user_id else ""} if changed or before is None else before
    await record(conn, now, actor, "mark", "mark", history_id, org_id=session.org_id, before=before,
                 after=recorded, person_id=person_id, session_id=session_id)
    channel = events.session_channel(session_id)
    event = await events.emit(tx, ctx.hub.publish, channel, event_type, {
        "person_id": person_id, "history_id": history_id, "changed": changed, "late_entry": late_entry,
        "mark": after, "recorded": recorded}, now)
    if changed and session_evaluated(session):
        await queue_reevaluation(conn, session.org_id, session_id, person_id, session.programme_id, now)
        tx.after_commit(lambda: ctx.wake(QUEUED))
    return MarkResult(history_id, False, after, changed, late_entry, int(event["seq"]))
