"""Reading a session as the pure domain sees it: SessionInfo and SessionSnapshot from rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.domain.errors import NotFound
from checkin.domain.model import (
    Channel,
    Contact,
    ContactKind,
    FollowUp,
    FollowUpOutcome,
    Mark,
    MarkSource,
    MarkStatus,
    Notice,
    Person,
    SessionInfo,
    SessionKind,
    SessionMode,
    SessionSnapshot,
    SessionStatus,
)
from checkin.domain.rules.policy import Policy
from checkin.domain.rules.presets import PRESETS
from checkin.storage.tables import (
    contacts,
    follow_ups,
    marks,
    notices,
    organisations,
    people,
    programmes,
    roster,
    session_tutors,
    sessions,
)


@dataclass(frozen=True)
class SessionContext:
    """A session with the programme policy and organisation zone it is judged by."""

    info: SessionInfo
    org_id: int
    policy: Policy
    tz: ZoneInfo
    programme: dict[str, Any]


def session_info(row: Any, tutor_rows: list[Any]) -> SessionInfo:
    checked_in = [t.checked_in_at for t in tutor_rows if t.checked_in_at is not None]
    return SessionInfo(
        id=row.id, title=row.title, kind=SessionKind(row.kind), mode=SessionMode(row.mode),
        starts_at=row.starts_at, ends_at=row.ends_at, programme_id=row.programme_id, element=row.element,
        mandatory=row.mandatory, status=SessionStatus(row.status), register_completed_at=row.register_completed_at,
        tutor_ids=tuple(t.user_id for t in tutor_rows), tutor_checked_in_at=min(checked_in) if checked_in else None,
    )


async def load_session_context(conn: AsyncConnection, session_id: int) -> SessionContext:
    row = (await conn.execute(sa.select(sessions).where(sessions.c.id == session_id))).first()
    if row is None:
        raise NotFound("not_found", f"No session {session_id}.")
    tutors = (await conn.execute(sa.select(session_tutors).where(session_tutors.c.session_id == session_id))).all()
    prog = (await conn.execute(sa.select(programmes).where(programmes.c.id == row.programme_id))).one()
    tz = (await conn.execute(sa.select(organisations.c.timezone).where(organisations.c.id == row.org_id))).scalar_one()
    policy = policy_of(prog.policy, prog.preset)
    return SessionContext(session_info(row, list(tutors)), row.org_id, policy, ZoneInfo(tz), dict(prog._mapping))


def policy_of(raw: Any, preset: str = "") -> Policy:
    """The stored policy; an empty one means the programme's preset (as marking reads it)."""
    if raw:
        return Policy.from_dict(raw)
    return PRESETS[preset]() if preset in PRESETS else Policy()


async def roster_ids(conn: AsyncConnection, session_id: int) -> list[int]:
    rows = await conn.execute(sa.select(roster.c.person_id).where(roster.c.session_id == session_id))
    return [int(r) for r in rows.scalars()]


def _person(r: Any) -> Person:
    return Person(r.id, r.first_name, r.last_name, r.email, r.ap_pupil, r.on_school_roll, r.school, r.employer)


def _mark(r: Any) -> Mark:
    return Mark(person_id=r.person_id, status=MarkStatus(r.status), code=r.code, recorded_at=r.server_time,
                arrived_at=r.arrived_at, departed_at=r.departed_at, minutes_late=r.minutes_late, reason=r.reason,
                source=MarkSource(r.source))


async def load_snapshot(conn: AsyncConnection, info: SessionInfo) -> SessionSnapshot:
    """Roster, current marks, latest notices, follow-ups and contacts of one session."""
    sid = info.id
    person_rows = (await conn.execute(
        sa.select(people).join(roster, roster.c.person_id == people.c.id)
        .where(roster.c.session_id == sid, people.c.deleted_at.is_(None)).order_by(people.c.last_name, people.c.id)
    )).all()
    ids = [r.id for r in person_rows]
    mark_rows = (await conn.execute(sa.select(marks).where(marks.c.session_id == sid))).all()
    notice_rows = (await conn.execute(
        sa.select(notices).where(notices.c.session_id == sid).order_by(notices.c.received_at, notices.c.id))).all()
    follow_rows = (await conn.execute(
        sa.select(follow_ups).where(follow_ups.c.session_id == sid).order_by(follow_ups.c.logged_at))).all()
    contact_rows = (await conn.execute(
        sa.select(contacts).where(contacts.c.person_id.in_(ids)).order_by(contacts.c.priority, contacts.c.id)
    )).all() if ids else []
    return SessionSnapshot(
        session=info,
        roster=tuple(_person(r) for r in person_rows),
        marks={r.person_id: _mark(r) for r in mark_rows},
        notices={r.person_id: Notice(r.person_id, r.reason, r.accepted, r.received_at, r.given_by)
                 for r in notice_rows},
        follow_ups=tuple(FollowUp(r.person_id, FollowUpOutcome(r.outcome), r.logged_at, r.contact_name, r.method,
                                  r.note) for r in follow_rows),
        contacts=tuple(Contact(r.id, r.person_id, ContactKind(r.kind), r.name, r.relationship, r.phone, r.email,
                               r.organisation, Channel(r.preferred_channel)) for r in contact_rows),
    )
