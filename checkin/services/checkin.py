"""Self check-in: what a participant's scan, identification or a tutor's badge scan does.

A refusal is stored as a failed attempt (outcome code, device, IP, session; never a name or
anything typed) and then raised as `CheckinRefused`, whose words name nobody. A check-in is
a mark like any other, written through `record_mark` in the same transaction as the check
that decided it, so two scans racing for one person record one arrival.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.context import AppContext
from checkin.domain.checkin_decision import PRESENCE, Decision, Outcome, decide_checkin, message
from checkin.domain.errors import DomainError, NotFound
from checkin.domain.model import Mark, MarkSource, MarkStatus
from checkin.domain.principal import Principal
from checkin.domain.sharing import SharingPolicy, flag_device, shared_with
from checkin.domain.tokens import (
    PURPOSE_PERSONAL,
    TokenRejection,
    derive_key,
    issue_poster,
    match_personal_code,
    verify_scan_token,
)
from checkin.services.marking import load_subject, record_mark
from checkin.services.scan_codes import OPENS_MINUTES_BEFORE, Direction, SessionFacts, load_session, verify_code
from checkin.storage import events
from checkin.storage.audit import record
from checkin.storage.database import Tx
from checkin.storage.prepared import Prepared
from checkin.storage.tables import checkin_attempts, mark_history, marks, people, roster, sessions

IDENTIFY_WINDOW = timedelta(minutes=5)  # time to type an e-mail after a code was shown in time
SHARING = SharingPolicy(window_s=600, max_people=1)
PURPOSE_TICKET = "identify-ticket"
_REFUSAL_STATUS = {Outcome.NOT_ON_ROSTER: 403, Outcome.NOT_CHECKED_IN: 409, Outcome.CHECKIN_NOT_OPEN: 409,
                   Outcome.CHECKIN_CLOSED: 409, Outcome.SESSION_CANCELLED: 409}
NOT_RECOGNISED = ("We could not match that to the list for this session. Check it, try the personal code on "
                  "your invitation, or see the team.")
TICKET_EXPIRED = "That took too long — scan the screen again."


# The shared-phone check of every scan, prepared once (storage/prepared.py says why).
_SAME_PHONE = Prepared(sa.select(mark_history.c.person_id, mark_history.c.server_time).where(
    mark_history.c.device == sa.bindparam("device"), mark_history.c.source == sa.bindparam("source"),
    mark_history.c.server_time >= sa.bindparam("since"), mark_history.c.server_time <= sa.bindparam("until")))


class CheckinRefused(DomainError):
    """A refused scan; its message is safe to show to anyone."""


@dataclass(frozen=True)
class Scanner:
    """The phone scanning: its device id, its IP and whom its signed cookie remembers, if anyone."""

    device_id: str
    ip: str
    person_id: int | None = None
    org_id: int | None = None


@dataclass(frozen=True)
class ScanResult:
    """A check-in that was recorded or had already happened; shown only to the person it names."""

    outcome: Outcome
    message: str
    at: datetime
    person_id: int
    first_name: str
    session_title: str
    first_at: datetime | None = None
    minutes_late: int = 0
    flagged: bool = False
    seq: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"outcome": self.outcome.value, "message": self.message, "at": self.at.isoformat(),
                "first_at": self.first_at.isoformat() if self.first_at else None,
                "minutes_late": self.minutes_late, "flagged": self.flagged,
                "session": {"title": self.session_title}, "person": {"first_name": self.first_name}}


def ticket_key(ctx: AppContext, device_id: str) -> bytes:
    """Tickets are signed per device, so one copied off a phone does not work on another."""
    return derive_key(ctx.secret, f"{PURPOSE_TICKET}/{device_id}")


async def record_attempt(ctx: AppContext, *, session_id: int | None, outcome: str, device: str, ip: str,
                         now: datetime, person_id: int | None = None) -> None:
    """Stores a failed attempt in its own transaction; an unknown session id is stored as none."""
    async def work(tx: Tx) -> None:
        await insert_attempt(tx.conn, session_id=session_id, outcome=outcome, device=device, ip=ip, now=now,
                             person_id=person_id)

    await ctx.db.write(work)


async def insert_attempt(conn: AsyncConnection, *, session_id: int | None, outcome: str, device: str, ip: str,
                         now: datetime, person_id: int | None = None) -> None:
    known: Any = None
    if session_id is not None:
        known = sa.select(sessions.c.id).where(sessions.c.id == session_id).scalar_subquery()
    await conn.execute(sa.insert(checkin_attempts).values(
        session_id=known, person_id=person_id, device=device[:100], ip=ip[:64], outcome=outcome[:40], at=now))


async def scan(ctx: AppContext, session_id: int, token: str, direction: Direction, who: Scanner,
               now: datetime) -> ScanResult:
    """A phone's scan: the code must be current; an unknown phone is sent to identify itself with a ticket.

    The whole scan is one unit of work (the session read, the code check, the check-in or the
    stored refusal), so a scan costs one turn of the writer and one commit.
    """
    async def work(tx: Tx) -> ScanResult | CheckinRefused:
        facts = await load_session(tx.conn, session_id, ctx.settings.timezone)
        verified = verify_code(ctx, facts, session_id, token, now)
        if isinstance(verified, TokenRejection):
            await insert_attempt(tx.conn, session_id=session_id, outcome=verified.code.value, device=who.device_id,
                                 ip=who.ip, now=now)
            return CheckinRefused(verified.code.value, message(verified, ctx.settings.zone), status=403)
        assert facts is not None  # a genuine code for this id means the session exists
        if who.person_id is None or who.org_id != facts.org_id:
            return identify_needed(ctx, facts, who, now)
        outcome = await check_in_unit(tx, ctx, facts, who.person_id, direction, who, now)
        if isinstance(outcome, CheckinRefused) and outcome.code == Outcome.NOT_ON_ROSTER.value:
            # "Not you?" on the phone can then identify as someone else without scanning again
            outcome.details["ticket"] = identify_needed(ctx, facts, who, now).details["ticket"]
        return outcome

    return _raised(await ctx.db.write(work))


def identify_needed(ctx: AppContext, facts: SessionFacts, who: Scanner, now: datetime) -> CheckinRefused:
    """Asks the phone who it is, with a ticket that lets it answer after the code it scanned has rotated."""
    ticket = issue_poster(ticket_key(ctx, who.device_id), facts.info.id, facts.day(now), now, now + IDENTIFY_WINDOW)
    return CheckinRefused("identify_needed", "Confirm who you are to check in.", status=401, ticket=ticket)


async def identify(ctx: AppContext, session_id: int, ticket: str, who: Scanner, now: datetime, *,
                   email: str = "", code: str = "") -> int:
    """The roster person whose e-mail or personal code this is; a miss says the same whoever typed it."""
    async with ctx.db.read() as conn:
        facts = await load_session(conn, session_id, ctx.settings.timezone)
        rows = (await conn.execute(sa.select(people.c.id, people.c.email).join(
            roster, roster.c.person_id == people.c.id).where(
            roster.c.session_id == session_id, people.c.deleted_at.is_(None)))).all() if facts else []
    opened = verify_scan_token(ticket_key(ctx, who.device_id), ticket, session_id, now, 1, 0)
    if facts is None or isinstance(opened, TokenRejection):
        await record_attempt(ctx, session_id=session_id, outcome="identify_expired", device=who.device_id,
                             ip=who.ip, now=now)
        raise CheckinRefused("identify_expired", TICKET_EXPIRED, status=403)
    found: int | None = None
    if code:
        found = match_personal_code(derive_key(ctx.secret, PURPOSE_PERSONAL), {r.id: 0 for r in rows}, code)
    elif email:
        # an address shared by two people on the roster (siblings, one parent) identifies neither
        matches = [r.id for r in rows if r.email and r.email.strip().lower() == email.strip().lower()]
        found = matches[0] if len(matches) == 1 else None
    if found is None:
        await record_attempt(ctx, session_id=session_id, outcome="not_recognised", device=who.device_id,
                             ip=who.ip, now=now)
        raise CheckinRefused("not_recognised", NOT_RECOGNISED, status=403)
    return found


async def check_in(ctx: AppContext, facts: SessionFacts, person_id: int, direction: Direction, who: Scanner,
                   now: datetime, *, source: MarkSource = MarkSource.QR, actor: Principal | None = None,
                   ) -> ScanResult:
    """Decides and records one person's scan in one transaction; refusals are stored, then raised."""
    async def work(tx: Tx) -> ScanResult | CheckinRefused:
        current = await load_session(tx.conn, facts.info.id, ctx.settings.timezone)  # as this unit sees it
        if current is None:
            raise NotFound("not_found", "No such session.")
        return await check_in_unit(tx, ctx, current, person_id, direction, who, now, source=source, actor=actor)

    return _raised(await ctx.db.write(work))


def _raised(outcome: ScanResult | CheckinRefused) -> ScanResult:
    if isinstance(outcome, CheckinRefused):
        raise outcome
    return outcome


async def check_in_unit(tx: Tx, ctx: AppContext, facts: SessionFacts, person_id: int, direction: Direction,
                        who: Scanner, now: datetime, *, source: MarkSource = MarkSource.QR,
                        actor: Principal | None = None) -> ScanResult | CheckinRefused:
    """One scan's check-in inside the caller's unit of work (which read `facts`); a refusal is stored and returned."""
    conn = tx.conn
    subject = await load_subject(conn, facts.info.id, person_id, facts.row)
    on_roster = subject.rostered and not subject.deleted
    existing = _current(subject.current)
    decision = decide_checkin(now, facts.info, frozenset({person_id}) if on_roster else frozenset(), person_id,
                              existing, facts.grace_minutes, OPENS_MINUTES_BEFORE, direction=direction)
    words = message(decision, facts.zone)
    if decision.outcome in _REFUSAL_STATUS:
        await insert_attempt(conn, session_id=facts.info.id, outcome=decision.outcome.value, device=who.device_id,
                             ip=who.ip, now=now, person_id=person_id)
        return CheckinRefused(decision.outcome.value, words, status=_REFUSAL_STATUS[decision.outcome],
                              **_refusal_times(decision))
    result = ScanResult(decision.outcome, words, now, person_id, subject.first_name, facts.info.title,
                        decision.first_at, decision.minutes_late)
    if not decision.recorded:
        return result
    if decision.outcome is Outcome.CHECKED_OUT and not decision.left_early:
        # staying to the end changes no mark; the departure is kept in the attempt log
        await insert_attempt(conn, session_id=facts.info.id, outcome="checked_out", device=who.device_id,
                             ip=who.ip, now=now, person_id=person_id)
        return result
    assert decision.mark_status is not None
    marked = await record_mark(
        tx, ctx, session_id=facts.info.id, person_id=person_id, status=decision.mark_status, code=None,
        source=source, actor=actor, now=now, device=who.device_id, minutes_late=decision.minutes_late,
        arrived_at=existing.arrived_at if existing and direction == "out" else None,
        departed_at=decision.departed_at if decision.left_early else None, event_type="checkin",
        subject=subject)
    flagged = source is MarkSource.QR and await _flag_sharing(tx, ctx, facts, person_id, who, now)
    return ScanResult(decision.outcome, words, now, person_id, subject.first_name, facts.info.title,
                      decision.first_at, decision.minutes_late, flagged, marked.seq)


def _refusal_times(decision: Decision) -> dict[str, str]:
    times = {"opens_at": decision.opens_at, "closes_at": decision.closes_at}
    return {k: v.isoformat() for k, v in times.items() if v is not None}


def _current(row: Any | None) -> Mark | None:
    if row is None:
        return None
    return Mark(row.person_id, _member(MarkStatus, row.status, MarkStatus.ABSENT_UNAUTHORISED), row.code,
                row.server_time, row.arrived_at, row.departed_at, row.minutes_late, row.reason,
                _member(MarkSource, row.source, MarkSource.TABLET))


def _member(kind: Any, value: str, default: Any) -> Any:
    try:
        return kind(value)
    except ValueError:
        return default


async def _flag_sharing(tx: Tx, ctx: AppContext, facts: SessionFacts, person_id: int, who: Scanner,
                        now: datetime) -> bool:
    """Flags to the tutor a phone that checked in someone else shortly before (or after) this person."""
    window = timedelta(seconds=SHARING.window_s)
    rows = await _SAME_PHONE.rows(tx.conn, {"device": who.device_id[:100], "source": MarkSource.QR.value,
                                            "since": now - window, "until": now + window})
    recent = [(r.person_id, r.server_time) for r in rows]
    if not flag_device(recent, person_id, now, SHARING):
        return False
    others = sorted(shared_with(recent, person_id, now, SHARING))
    payload = {"kind": "shared_device", "person_id": person_id, "other_person_ids": others,
               "device": who.device_id[:12], "at": now.isoformat(),
               "message": f"One phone checked in {len(others) + 1} different people within "
                          f"{SHARING.window_s // 60} minutes — check who is in the room."}
    channel = events.session_channel(facts.info.id)
    await events.emit(tx, ctx.hub.publish, channel, "flag", payload, now)
    await record(tx.conn, now, None, "flag_shared_device", "device", who.device_id[:64], org_id=facts.org_id,
                 after=payload, person_id=person_id, session_id=facts.info.id, actor_label="qr check-in")
    return True


async def arrivals(conn: AsyncConnection, session_id: int) -> dict[str, int]:
    """How many on the roster have arrived (present, late or left early), of how many expected."""
    expected = (await conn.execute(sa.select(sa.func.count()).select_from(roster).where(
        roster.c.session_id == session_id))).scalar_one()
    arrived = (await conn.execute(sa.select(sa.func.count()).select_from(marks.join(
        roster, sa.and_(roster.c.session_id == marks.c.session_id, roster.c.person_id == marks.c.person_id)))
        .where(marks.c.session_id == session_id, marks.c.status.in_([s.value for s in PRESENCE])))).scalar_one()
    return {"arrived": int(arrived), "expected": int(expected)}


async def first_name(ctx: AppContext, person_id: int, org_id: int) -> str | None:
    """The first name of the person a phone is remembered as; None once they are gone from the organisation."""
    async with ctx.db.read() as conn:
        found = (await conn.execute(sa.select(people.c.first_name).where(
            people.c.id == person_id, people.c.org_id == org_id, people.c.deleted_at.is_(None)))).first()
    return None if found is None else str(found.first_name)
