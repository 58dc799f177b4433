"""Reading a programme's sessions, marks, notices and catch-ups as SessionRecords per participant.

One read loads the whole programme (or the people asked for), so the programme page, the
exports and the re-evaluation after a mark all see the same mapping from rows to records.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.domain.codes import CODE_SETS, PLAIN, CodeSet
from checkin.domain.completion import (
    CompletionResult,
    Outcome,
    Requirement,
    SessionRecord,
    classify,
    evaluate,
    share_missed,
    stored_requirements,
)
from checkin.domain.errors import NotFound
from checkin.domain.model import CancelledBy, Category, MarkStatus, SessionStatus
from checkin.domain.rules.cancellation import CancellationEffect, cancellation_effect
from checkin.domain.rules.policy import Policy
from checkin.services.marking import programme_policy
from checkin.storage.prepared import Prepared, in_ids
from checkin.storage.tables import (
    catch_ups,
    enrolments,
    marks,
    notices,
    organisations,
    people,
    programmes,
    roster,
    sessions,
)

ATTENDING = frozenset({MarkStatus.PRESENT.value, MarkStatus.LATE.value, MarkStatus.LEFT_EARLY.value})
_STATUS_CATEGORY = {
    MarkStatus.PRESENT: Category.PRESENT, MarkStatus.LATE: Category.PRESENT, MarkStatus.LEFT_EARLY: Category.PRESENT,
    MarkStatus.ABSENT_AUTHORISED: Category.AUTHORISED, MarkStatus.CATCH_UP: Category.AUTHORISED,
    MarkStatus.ABSENT_UNAUTHORISED: Category.UNAUTHORISED, MarkStatus.NO_CONTACT: Category.UNAUTHORISED,
    MarkStatus.NOT_POSSIBLE: Category.NOT_POSSIBLE,
}


@dataclass(frozen=True)
class ProgrammeInfo:
    """A programme with what completion needs: its policy, requirements, code set and zone."""

    id: int
    org_id: int
    name: str
    codes: CodeSet
    policy: Policy
    requirements: tuple[Requirement, ...]
    tz: ZoneInfo
    row: Any

    @property
    def threshold(self) -> float:
        """The share of content missed above which a catch-up is required (LEFT-EARLY)."""
        return self.policy.left_early_threshold_percent / 100


@dataclass(frozen=True)
class Attendance:
    """One person in one session: the rows read and the record they make."""

    session: Any
    mark: Any | None
    notice: Any | None
    catch_up: str | None  # how the content was made good: "alternative", "materials", "mark", or None
    record: SessionRecord
    outcome: Outcome


@dataclass(frozen=True)
class Standing:
    """Where one participant stands in one programme."""

    person: Any
    enrolment_status: str
    items: list[Attendance]
    result: CompletionResult

    @property
    def records(self) -> list[SessionRecord]:
        return [a.record for a in self.items]

    @property
    def name(self) -> str:
        return f"{self.person.first_name} {self.person.last_name}".strip()


_PROGRAMME = Prepared(  # the watcher reads it for every programme it re-evaluates
    sa.select(programmes, organisations.c.timezone)
    .join(organisations, organisations.c.id == programmes.c.org_id)
    .where(programmes.c.id == sa.bindparam("programme", type_=sa.Integer()),
           sa.or_(sa.bindparam("org", type_=sa.Integer()).is_(None),
                  programmes.c.org_id == sa.bindparam("org", type_=sa.Integer()))))


async def load_programme(conn: AsyncConnection, programme_id: int, org_id: int | None = None) -> ProgrammeInfo:
    row = await _PROGRAMME.first(conn, {"programme": programme_id, "org": org_id})
    if row is None:
        raise NotFound("not_found", f"There is no programme {programme_id}.")
    return ProgrammeInfo(row.id, row.org_id, row.name, CODE_SETS.get(row.code_set, PLAIN),
                         programme_policy(row.policy, row.preset), stored_requirements(row.requirements),
                         ZoneInfo(row.timezone or "Europe/London"), row)


def category_of(codes: CodeSet, mark: Any) -> Category:
    found = codes.get(mark.code)
    return found.category if found is not None else _STATUS_CATEGORY[MarkStatus(mark.status)]


def missed_share(session: Any, mark: Any) -> float:
    """Content missed by a late arrival or early departure; a plain present mark missed nothing.

    A tablet's present mark carries the time it was made as the arrival, so only a late mark,
    or a left-early one that also recorded lateness, has an arrival that means anything.
    """
    if mark is None or mark.status not in (MarkStatus.LATE.value, MarkStatus.LEFT_EARLY.value):
        return 0.0
    arrived = mark.arrived_at if mark.status == MarkStatus.LATE.value or mark.minutes_late > 0 else None
    departed = mark.departed_at if mark.status == MarkStatus.LEFT_EARLY.value and mark.departed_at else None
    if session.ends_at <= session.starts_at:
        return 0.0
    share = share_missed(session.starts_at, session.ends_at, departed or session.ends_at, arrived)
    return min(max(share, 0.0), 1.0)


def _cancellation(cancelled_by: str, cancelled_at: datetime | None, starts_at: datetime,
                  policy: Policy) -> CancellationEffect:
    by = CancelledBy(cancelled_by) if cancelled_by in {c.value for c in CancelledBy} else CancelledBy.PROVIDER
    return cancellation_effect(by, cancelled_at or starts_at, starts_at, policy.late_cancel_hours)


def make_record(session: Any, mark: Any | None, notice: Any | None, caught_up: bool, programme: ProgrammeInfo,
                now: datetime) -> SessionRecord:
    """The record one person's rows make for one session (RULES LATE-CANCEL, FORCE-MAJEURE, NOTICE, CATCH-UP)."""
    live = mark is not None and mark.status in ATTENDING
    category = category_of(programme.codes, mark) if mark is not None else None
    spent = excluded = False
    if session.status == SessionStatus.CANCELLED.value and not live:
        effect = _cancellation(session.cancelled_by, session.cancelled_at, session.starts_at, programme.policy)
        spent, excluded = effect is CancellationEffect.SPENT, effect is not CancellationEffect.SPENT
    elif notice is not None and notice.kind == "cancellation" and not live:
        effect = _cancellation(notice.cancelled_by, notice.received_at, session.starts_at, programme.policy)
        spent, excluded = effect is CancellationEffect.SPENT, effect is not CancellationEffect.SPENT
    if session.status == SessionStatus.FORCE_MAJEURE.value and not live:
        excluded, spent = True, False  # absences from an affected session are authorised and left out
    if category is None and notice is not None and session.starts_at <= now:
        category = Category.AUTHORISED if notice.accepted else Category.UNAUTHORISED
    if spent:
        category = Category.UNAUTHORISED
    return SessionRecord(
        session_id=session.id, element=session.element or session.kind, starts_at=session.starts_at,
        mandatory=bool(session.mandatory), category=category, live=live,
        catch_up=caught_up or (mark is not None and mark.status == MarkStatus.CATCH_UP.value),
        spent=spent, excluded=excluded, minutes_missed_share=missed_share(session, mark) if live else 0.0,
        future=session.starts_at > now)


@dataclass(frozen=True)
class _StandingReads:
    """The reads a standing is made of, for a whole programme or for the people named in `people`."""

    sessions: Prepared
    roster: Prepared
    enrolments: Prepared
    catch_ups: Prepared
    marks: Prepared
    notices: Prepared


# Session and person rows change rarely and are read again after every burst of marks: kept as
# made (Prepared's memo) instead of parsing their times each time.
_ROWS_KEPT = 4096


def _standing_reads(theirs: bool) -> _StandingReads:
    """Prepared statements (the watcher runs them after every burst of marks); `theirs` limits them to `people`."""
    def only(column: Any, dialect: str) -> sa.ColumnElement[bool]:
        return in_ids(column, "people", dialect) if theirs else sa.true()

    def of_sessions(column: Any, dialect: str) -> sa.ColumnElement[bool]:
        return in_ids(column, "sessions", dialect)

    def session_read(dialect: str) -> sa.Select[Any]:
        where = sessions.c.programme_id == sa.bindparam("programme", type_=sa.Integer())
        if theirs:  # only the sessions on their rosters: a programme may run thousands
            where = sa.and_(where, sessions.c.id.in_(
                sa.select(roster.c.session_id).where(only(roster.c.person_id, dialect)).scalar_subquery()))
        return sa.select(sessions).where(where).order_by(sessions.c.starts_at, sessions.c.id)

    return _StandingReads(
        sessions=Prepared(session_read, memo=_ROWS_KEPT),
        roster=Prepared(lambda d: sa.select(roster.c.session_id, roster.c.person_id).where(
            of_sessions(roster.c.session_id, d), only(roster.c.person_id, d))),
        enrolments=Prepared(lambda d: sa.select(enrolments.c.person_id, enrolments.c.status).where(
            enrolments.c.programme_id == sa.bindparam("programme", type_=sa.Integer()),
            only(enrolments.c.person_id, d))),
        catch_ups=Prepared(lambda d: sa.select(catch_ups).where(
            of_sessions(catch_ups.c.session_id, d), only(catch_ups.c.person_id, d)).order_by(catch_ups.c.id)),
        marks=Prepared(lambda d: sa.select(marks).where(
            of_sessions(marks.c.session_id, d), only(marks.c.person_id, d))),
        notices=Prepared(lambda d: sa.select(notices).where(
            of_sessions(notices.c.session_id, d), only(notices.c.person_id, d))
            .order_by(notices.c.received_at, notices.c.id)),
    )


_WHOLE, _THEIRS = _standing_reads(False), _standing_reads(True)
_PEOPLE = Prepared(lambda d: sa.select(people).where(in_ids(people.c.id, "ids", d), people.c.deleted_at.is_(None))
                   .order_by(people.c.last_name, people.c.first_name, people.c.id), memo=_ROWS_KEPT)


async def load_standings(conn: AsyncConnection, programme: ProgrammeInfo, now: datetime,
                         person_ids: Collection[int] | None = None) -> list[Standing]:
    """Every participant's standing (or those asked for), sorted by last name: enrolled or on a roster.

    For the people asked for, only the sessions on their rosters are read: a standing is made
    of a person's own sessions, and a programme may run thousands (the watcher re-evaluates a
    few people after each burst of marks).
    """
    wanted = sorted(set(person_ids)) if person_ids is not None else None
    reads, people_of = (_THEIRS, {"people": wanted}) if wanted is not None else (_WHOLE, {})
    session_rows = await reads.sessions.rows(conn, {"programme": programme.id, **people_of})
    by_id = {s.id: s for s in session_rows}
    ids = {"sessions": list(by_id), **people_of}
    roster_rows = await reads.roster.rows(conn, ids) if by_id else []
    enrolled = {r.person_id: r.status for r in await reads.enrolments.rows(conn, {"programme": programme.id,
                                                                                  **people_of})}
    pids = sorted(enrolled.keys() | {r.person_id for r in roster_rows})
    person_rows = await _PEOPLE.rows(conn, {"ids": pids}) if pids else []
    catch_rows = await reads.catch_ups.rows(conn, ids) if by_id else []
    # An alternative session may belong to another programme (the next cohort's run of the same content).
    marked = set(by_id) | {c.alternative_session_id for c in catch_rows if c.alternative_session_id}
    mark_rows = await reads.marks.rows(conn, {**ids, "sessions": sorted(marked)}) if marked else []
    notice_rows = await reads.notices.rows(conn, ids) if by_id else []
    sessions_of: dict[int, set[int]] = defaultdict(set)
    for r in roster_rows:
        sessions_of[r.person_id].add(r.session_id)
    mark_of = {(m.session_id, m.person_id): m for m in mark_rows}
    notice_of = {(n.session_id, n.person_id): n for n in notice_rows}  # the latest wins
    standings = []
    for person in person_rows:
        mine = sessions_of.get(person.id, set())
        items = []
        for sid in sorted(mine, key=lambda i: (by_id[i].starts_at, i)):
            session = by_id[sid]
            if session.alternative_for_id in mine:
                continue  # a catch-up vehicle for a session of their own, not a session in its own right
            via = _caught_up_by(person.id, session, mine, by_id, mark_of, catch_rows)
            mark, notice = mark_of.get((sid, person.id)), notice_of.get((sid, person.id))
            record = make_record(session, mark, notice, via is not None, programme, now)
            items.append(Attendance(session, mark, notice, via if via else (
                "mark" if record.catch_up else None), record, classify(record, now, programme.threshold)))
        result = evaluate([a.record for a in items], programme.requirements, now,
                          left_early_threshold=programme.threshold)
        standings.append(Standing(person, enrolled.get(person.id, "active"), items, result))
    return standings


def _caught_up_by(person_id: int, session: Any, mine: set[int], by_id: dict[int, Any],
                  mark_of: dict[tuple[int, int], Any], catch_rows: Sequence[Any]) -> str | None:
    """How the session's content was made good: an alternative attended, or confirmed materials."""
    for sid in mine:
        if by_id[sid].alternative_for_id == session.id and _attended(mark_of.get((sid, person_id))):
            return "alternative"
    for c in catch_rows:
        if c.person_id != person_id or c.session_id != session.id:
            continue
        if c.kind == "materials" and c.form_completed_at is not None and c.reflective_log.strip():
            return "materials"
        if c.kind == "alternative" and _attended(mark_of.get((c.alternative_session_id, person_id))):
            return "alternative"
    return None


def _attended(mark: Any | None) -> bool:
    return mark is not None and mark.status in ATTENDING
