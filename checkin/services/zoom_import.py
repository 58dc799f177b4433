"""Zoom participant reports into marks for one session: preview, review doubtful matches, then import.

The file is parsed (either header style, with or without the meeting block; a person's
join/leave rows merged), attendees are matched to the roster by e-mail, then by name; a
near name or a shared name is doubtful and needs a person's choice. Everyone matched gets
the mark their time earns by the programme's rules: the minimum share of the session is
100% less the left-early threshold (25% → 75%), lateness counts after the grace. Roster
members the report does not show, and who have no mark yet, are marked absent. Any
malformed row refuses the whole file: 422 with every problem, nothing written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.context import AppContext
from checkin.domain.csvfile import CsvFileError, RowProblem
from checkin.domain.errors import Conflict, Invalid
from checkin.domain.model import MarkSource, MarkStatus
from checkin.domain.principal import Principal
from checkin.domain.zoom import ZoomReport, merge_segments, parse_zoom_report
from checkin.domain.zoom_attendance import Match, MatchConfidence, ZoomMark, match_attendees, zoom_mark
from checkin.services.completion import reevaluate_people
from checkin.services.marking import programme_policy, record_mark
from checkin.services.ownership import session_for
from checkin.services.records import jsonable
from checkin.storage.database import Tx
from checkin.storage.tables import marks, notices, people, programmes, roster

REASON = "Zoom participant report"


class ImportProblems(Invalid):
    """A file with problems: 422 "import_invalid" listing every one; nothing was written."""

    def __init__(self, problems: Sequence[RowProblem], what: str = "report") -> None:
        first = problems[0]
        count = f"{len(problems)} problems" if len(problems) > 1 else "a problem"
        super().__init__("import_invalid", f"Nothing was imported: the {what} has {count} (the first at row "
                         f"{first.row}: {first.message})", None,
                         problems=[{"row": p.row, "column": p.column, "code": p.code, "message": p.message}
                                   for p in problems])
        self.problems = list(problems)


def file_problem(exc: CsvFileError) -> RowProblem:
    return RowProblem(exc.line or 1, exc.column or "", exc.code, exc.message)


@dataclass(frozen=True)
class SessionRules:
    session: Any
    min_duration_percent: float
    grace_minutes: int
    tz: ZoneInfo
    roster: list[Any]  # people rows on the roster
    marked: dict[int, str]  # person id -> current mark status
    accepted_notice: set[int]  # people with an accepted absence notice


async def load_rules(conn: AsyncConnection, actor: Principal, session_id: int) -> SessionRules:
    session = await session_for(conn, actor, session_id)
    programme = (await conn.execute(sa.select(programmes).where(programmes.c.id == session.programme_id))).one()
    policy = programme_policy(programme.policy, programme.preset)
    try:
        tz = ZoneInfo(session.timezone or "Europe/London")
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("Europe/London")
    on_roster = list((await conn.execute(
        sa.select(people).join(roster, roster.c.person_id == people.c.id)
        .where(roster.c.session_id == session_id, people.c.deleted_at.is_(None))
        .order_by(people.c.last_name, people.c.first_name, people.c.id))).all())
    current = {r.person_id: r.status for r in (await conn.execute(
        sa.select(marks.c.person_id, marks.c.status).where(marks.c.session_id == session_id))).all()}
    latest: dict[int, bool] = {}
    for n in (await conn.execute(sa.select(notices).where(notices.c.session_id == session_id)
                                 .order_by(notices.c.received_at, notices.c.id))).all():
        latest[n.person_id] = n.kind == "absence" and bool(n.accepted)
    return SessionRules(session, 100 - policy.left_early_threshold_percent,
                        int(programme.grace_minutes or policy.grace_minutes), tz, on_roster, current,
                        {pid for pid, ok in latest.items() if ok})


def parse(data: bytes, tz: ZoneInfo, day_first: bool) -> ZoomReport:
    try:
        report = parse_zoom_report(data, tz, day_first=day_first)
    except CsvFileError as exc:
        raise ImportProblems([file_problem(exc)]) from None
    if report.problems:
        raise ImportProblems(report.problems)
    return report


def _name(p: Any) -> str:
    return f"{p.first_name} {p.last_name}".strip()


def _proposal(found: ZoomMark | None) -> dict[str, Any] | None:
    if found is None:
        return None
    return {"status": found.status.value, "arrived_at": jsonable(found.arrived_at),
            "departed_at": jsonable(found.departed_at), "minutes_late": found.minutes_late}


def assign(matches: Sequence[Match], choices: Mapping[int, int | None] | None,
           roster_ids: set[int]) -> dict[int, list[int]]:
    """Attendee indices per person: sure matches, plus each doubtful one as chosen (422 when unchosen)."""
    chosen = dict(choices or {})
    problems = [RowProblem(0, "attendee", "unknown_attendee", f"There is no attendee {i} in the report.")
                for i in chosen if not 0 <= i < len(matches)]
    problems += [RowProblem(0, "person_id", "not_on_roster", f"Person {pid} is not on this session's roster.")
                 for pid in chosen.values() if pid is not None and pid not in roster_ids]
    if problems:
        raise ImportProblems(problems, "choice list")
    unsettled = [i for i, m in enumerate(matches) if m.confidence is MatchConfidence.DOUBTFUL and i not in chosen]
    if unsettled:
        raise Invalid("review_required", f"{len(unsettled)} attendee(s) match doubtfully; choose who each one is.",
                      "choices", attendees=unsettled)
    by_person: dict[int, list[int]] = {}
    for i, m in enumerate(matches):
        sure = m.person_id if m.confidence in (MatchConfidence.EMAIL, MatchConfidence.NAME) else None
        pid = chosen.get(i, sure)
        if pid is not None:
            by_person.setdefault(pid, []).append(i)
    return by_person


def mark_for(rules: SessionRules, matches: Sequence[Match], indices: list[int]) -> ZoomMark:
    segments = merge_segments(seg for i in indices for seg in matches[i].attendee.segments)
    s = rules.session
    return zoom_mark(segments, s.starts_at, s.ends_at, rules.min_duration_percent, rules.grace_minutes)


def _match_json(i: int, m: Match, names: dict[int, str], proposed: ZoomMark | None) -> dict[str, Any]:
    a = m.attendee
    return {"attendee": i, "name": a.name, "email": a.email, "original_name": a.original_name, "guest": a.guest,
            "total_minutes": round(a.total_minutes, 1),
            "segments": [{"join": jsonable(j), "leave": jsonable(lv)} for j, lv in a.segments],
            "confidence": m.confidence.value, "person_id": m.person_id, "person_name": names.get(m.person_id or 0),
            "candidates": [{"person_id": c, "name": names.get(c, "")} for c in m.candidates],
            "needs_review": m.confidence is MatchConfidence.DOUBTFUL, "proposed": _proposal(proposed)}


async def preview_zoom(ctx: AppContext, actor: Principal, session_id: int, data: bytes, *,
                       day_first: bool = False) -> dict[str, Any]:
    """What an import would do: each attendee's match with its confidence and the mark it earns."""
    async with ctx.db.read() as conn:
        rules = await load_rules(conn, actor, session_id)
    report = parse(data, rules.tz, day_first)
    matches = match_attendees(report.attendees, [(p.id, _name(p), p.email) for p in rules.roster])
    names = {p.id: _name(p) for p in rules.roster}
    tentative: dict[int, list[int]] = {}
    for i, m in enumerate(matches):
        if m.person_id is not None:
            tentative.setdefault(m.person_id, []).append(i)
    per_attendee = {i: mark_for(rules, matches, idx) for idx in tentative.values() for i in idx}
    return {
        "session_id": session_id, "meeting": report.meeting,
        "rules": {"min_duration_percent": rules.min_duration_percent, "grace_minutes": rules.grace_minutes},
        "attendees": [_match_json(i, m, names, per_attendee.get(i)) for i, m in enumerate(matches)],
        "needs_review": [i for i, m in enumerate(matches) if m.confidence is MatchConfidence.DOUBTFUL],
        "roster": [{"person_id": p.id, "name": _name(p), "matched": p.id in tentative,
                    "current_status": rules.marked.get(p.id)} for p in rules.roster],
    }


async def import_zoom(ctx: AppContext, actor: Principal, session_id: int, data: bytes, *, now: datetime,
                      choices: Mapping[int, int | None] | None = None, day_first: bool = False,
                      mark_absent: bool = True) -> dict[str, Any]:
    """Writes the marks in one unit: present / late / left early / absent, source import."""
    digest = hashlib.sha256(data).hexdigest()[:16]

    async def work(tx: Tx) -> dict[str, Any]:
        rules = await load_rules(tx.conn, actor, session_id)
        if now < rules.session.ends_at:
            raise Conflict("session_not_ended", "A Zoom report can be imported once the session has ended.",
                           "session_id")
        report = parse(data, rules.tz, day_first)
        matches = match_attendees(report.attendees, [(p.id, _name(p), p.email) for p in rules.roster])
        by_person = assign(matches, choices, {p.id for p in rules.roster})
        names = {p.id: _name(p) for p in rules.roster}
        marked, absent = [], []
        for pid, indices in sorted(by_person.items()):
            found = mark_for(rules, matches, indices)
            marked.append(await _write(tx, ctx, actor, rules, pid, found, digest, now) | {"name": names[pid],
                                                                                          "attendees": indices})
        if mark_absent:
            for p in rules.roster:
                if p.id not in by_person and p.id not in rules.marked:
                    none = ZoomMark(MarkStatus.ABSENT_UNAUTHORISED, None, None, 0)
                    absent.append(await _write(tx, ctx, actor, rules, p.id, none, digest, now) | {"name": _name(p)})
        await reevaluate_people(tx, ctx, [m["person_id"] for m in marked + absent], rules.session.programme_id, now)
        taken = {i for idx in by_person.values() for i in idx}
        return {"session_id": session_id, "marked": marked, "absent": absent,
                "unmatched": [_match_json(i, m, names, None) for i, m in enumerate(matches) if i not in taken]}

    return await ctx.db.write(work)


async def _write(tx: Tx, ctx: AppContext, actor: Principal, rules: SessionRules, person_id: int, found: ZoomMark,
                 digest: str, now: datetime) -> dict[str, Any]:
    status = found.status
    if status is MarkStatus.ABSENT_UNAUTHORISED and person_id in rules.accepted_notice:
        status = MarkStatus.ABSENT_AUTHORISED
    note = _note(rules, found)
    result = await record_mark(
        tx, ctx, session_id=rules.session.id, person_id=person_id, status=status, code=None,
        source=MarkSource.IMPORT, actor=actor, now=now, nonce=f"zoom:{rules.session.id}:{digest}:{person_id}",
        device="zoom-report", arrived_at=found.arrived_at if status in (
            MarkStatus.PRESENT, MarkStatus.LATE, MarkStatus.LEFT_EARLY) else None,
        departed_at=found.departed_at if status is MarkStatus.LEFT_EARLY else None,
        minutes_late=found.minutes_late, reason=REASON, note=note)
    return {"person_id": person_id, "status": status.value, "code": result.current.get("code"),
            "arrived_at": jsonable(found.arrived_at), "departed_at": jsonable(found.departed_at),
            "minutes_late": found.minutes_late, "duplicate": result.duplicate, "changed": result.changed}


def _note(rules: SessionRules, found: ZoomMark) -> str:
    if found.arrived_at is None or found.departed_at is None:
        return "Not in the Zoom report."
    join, leave = (t.astimezone(rules.tz).strftime("%H:%M") for t in (found.arrived_at, found.departed_at))
    text = f"In Zoom from {join} to {leave}"
    if found.status is MarkStatus.ABSENT_UNAUTHORISED:
        text += f", under the {rules.min_duration_percent:g}% of the session needed to count as present"
    return text + "."
