"""CSV exports: marks, per-participant summaries, requirements, weekly figures, and AP school returns.

Each export's columns are listed in README.md under "## Exports" (a test keeps the two in
step). Files are UTF-8 without a byte-order mark, comma-separated, CRLF line ends, one header
row. Text typed by people (names, titles, reasons) that starts with = + - @ is prefixed with
an apostrophe so a spreadsheet never runs it as a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from checkin.context import AppContext
from checkin.domain.codes import DFE_2024
from checkin.domain.errors import Invalid
from checkin.domain.model import Category, MarkStatus, SessionStatus
from checkin.domain.principal import Principal
from checkin.services.completion_records import Attendance, ProgrammeInfo, category_of, load_programme, load_standings
from checkin.services.escalation import current_stages
from checkin.services.records import jsonable
from checkin.services.reports import at_risk_first, programme_standings, summary, visible_people, weekly
from checkin.storage.tables import people, programmes, roster, sessions

MARKS = ("session_id", "session_title", "element", "kind", "mode", "session_date", "starts_at_local", "starts_at",
         "session_status", "person_id", "external_ref", "first_name", "last_name", "mark_status", "code",
         "category", "arrived_at", "departed_at", "minutes_late", "share_missed_percent", "source", "reason",
         "notice_reason", "notice_accepted", "notice_after_start", "catch_up", "outcome")
SUMMARY = ("person_id", "external_ref", "first_name", "last_name", "school", "enrolment_status", "status",
           "sessions", "attended", "caught_up", "missed", "spent", "excluded", "remaining", "unmarked", "percent",
           "live_percent", "attendance_percent", "best_percent", "late_arrivals", "minutes_late_total",
           "average_minutes_late", "on_time_percent", "persistence", "escalation_stage")
REQUIREMENTS = ("person_id", "first_name", "last_name", "requirement", "rule", "element", "status", "current",
                "target", "best", "unit", "reason")
WEEKLY = ("week", "sessions", "present", "percent", "attended", "late_arrivals", "minutes_late_total",
          "average_minutes_late", "on_time_percent")
SCHOOL = ("school", "person_id", "external_ref", "first_name", "last_name", "date_of_birth", "on_school_roll",
          "possible", "present", "authorised", "unauthorised", "not_possible", "unmarked", "attendance_percent",
          "codes")
_TEXT = frozenset({"session_title", "first_name", "last_name", "external_ref", "school", "reason", "notice_reason",
                   "element", "requirement", "codes"})
UNMARKED = "?"


def safe(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_csv(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c), c in _TEXT) for c in columns])
    return out.getvalue()


def _cell(value: Any, text: bool) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return safe(value) if text else value


def _in_range(moment: datetime, info: ProgrammeInfo, start: date | None, end: date | None) -> bool:
    day = moment.astimezone(info.tz).date()
    return (start is None or day >= start) and (end is None or day <= end)


def mark_row(a: Attendance, person: Any, info: ProgrammeInfo) -> dict[str, Any]:
    s, m, n = a.session, a.mark, a.notice
    local = s.starts_at.astimezone(info.tz)
    return {
        "session_id": s.id, "session_title": s.title, "element": s.element or s.kind, "kind": s.kind,
        "mode": s.mode, "session_date": local.date().isoformat(), "starts_at_local": local.strftime("%H:%M"),
        "starts_at": jsonable(s.starts_at), "session_status": s.status, "person_id": person.id,
        "external_ref": person.external_ref or "", "first_name": person.first_name, "last_name": person.last_name,
        "mark_status": m.status if m else "", "code": m.code if m else "",
        "category": category_of(info.codes, m).value if m else "",
        "arrived_at": jsonable(m.arrived_at) if m else None, "departed_at": jsonable(m.departed_at) if m else None,
        "minutes_late": m.minutes_late if m else None,
        "share_missed_percent": round(100 * a.record.minutes_missed_share, 1), "source": m.source if m else "",
        "reason": m.reason if m else "", "notice_reason": n.reason if n else "",
        "notice_accepted": bool(n.accepted) if n else None, "notice_after_start": bool(n.after_start) if n else None,
        "catch_up": a.catch_up or "", "outcome": a.outcome.value,
    }


async def marks_csv(ctx: AppContext, actor: Principal, programme_id: int, now: datetime, *,
                    person_id: int | None = None, start: date | None = None, end: date | None = None) -> str:
    async with ctx.db.read() as conn:
        info, standings = await programme_standings(conn, actor, programme_id, now)
    rows = [mark_row(a, s.person, info) for s in standings if person_id in (None, s.person.id)
            for a in s.items if _in_range(a.session.starts_at, info, start, end)]
    rows.sort(key=lambda r: (r["starts_at"], r["session_id"], r["last_name"], r["person_id"]))
    return to_csv(MARKS, rows)


async def summary_csv(ctx: AppContext, actor: Principal, programme_id: int, now: datetime, *,
                      at_risk_only: bool = False) -> str:
    async with ctx.db.read() as conn:
        _, standings = await programme_standings(conn, actor, programme_id, now)
        stages = await current_stages(conn, programme_id)
    rows = at_risk_first([summary(s, stages.get(s.person.id)) for s in standings])
    if at_risk_only:
        rows = [r for r in rows if r["status"] != "on_track" and r["enrolment_status"] == "active"]
    return to_csv(SUMMARY, rows)


async def requirements_csv(ctx: AppContext, actor: Principal, programme_id: int, now: datetime, *,
                           person_id: int | None = None) -> str:
    async with ctx.db.read() as conn:
        _, standings = await programme_standings(conn, actor, programme_id, now)
    rows = [{"person_id": s.person.id, "first_name": s.person.first_name, "last_name": s.person.last_name,
             "requirement": r.key, "rule": r.code, "element": r.element or "", "status": r.status.value,
             "current": _r(r.current), "target": _r(r.target), "best": _r(r.best), "unit": r.unit,
             "reason": r.reason}
            for s in standings if person_id in (None, s.person.id) for r in s.result.requirements]
    return to_csv(REQUIREMENTS, rows)


async def weekly_csv(ctx: AppContext, actor: Principal, programme_id: int, now: datetime, *,
                     person_id: int | None = None) -> str:
    async with ctx.db.read() as conn:
        info, standings = await programme_standings(conn, actor, programme_id, now)
    chosen = [s for s in standings if person_id in (None, s.person.id)]
    return to_csv(WEEKLY, weekly(info, chosen, now))


def statutory(a: Attendance, info: ProgrammeInfo) -> tuple[str, str] | None:
    """(code in England's school set, count) of one past session; None when it is not a session at all.

    Codes of another set map by status (a catch-up is an authorised absence, C). Absences from a
    force-majeure session are not possible sessions (Y7, any other unavoidable cause).
    """
    s, m, n = a.session, a.mark, a.notice
    if s.status == SessionStatus.CANCELLED.value and not a.record.spent:
        return None
    if a.record.excluded and not a.record.live:
        code = m.code if m is not None and category_of(info.codes, m) is Category.NOT_POSSIBLE else "Y7"
        return (code if code in DFE_2024 else "Y7"), "not_possible"
    if m is None:
        if a.record.spent:
            return "O", "unauthorised"
        if n is not None:
            return ("C", "authorised") if n.accepted else ("O", "unauthorised")
        return UNMARKED, "unmarked"
    category = category_of(info.codes, m)
    if m.code in DFE_2024 and info.codes.name == DFE_2024.name:
        code = m.code
    elif MarkStatus(m.status) is MarkStatus.CATCH_UP:
        code = "C"
    else:
        code = DFE_2024.default_for(MarkStatus(m.status)).code
    return code, {Category.PRESENT: "present", Category.AUTHORISED: "authorised",
                  Category.UNAUTHORISED: "unauthorised", Category.NOT_POSSIBLE: "not_possible"}[category]


async def schools(ctx: AppContext, actor: Principal) -> list[dict[str, Any]]:
    """The schools of the organisation's AP pupils, with how many pupils each has."""
    async with ctx.db.read() as conn:
        visible = await visible_people(conn, actor)
        query = sa.select(people.c.school, sa.func.count()).where(
            people.c.org_id == actor.org_id, people.c.ap_pupil.is_(True), people.c.deleted_at.is_(None),
            people.c.school != "").group_by(people.c.school).order_by(people.c.school)
        if visible is not None:
            query = query.where(people.c.id.in_(visible))
        rows = (await conn.execute(query)).all()
    return [{"school": r[0], "pupils": int(r[1])} for r in rows]


async def school_csv(ctx: AppContext, actor: Principal, school: str, now: datetime, *,
                     start: date | None = None, end: date | None = None) -> str:
    """One school's AP pupils: possible, authorised and unauthorised session counts and the codes in order."""
    if not school.strip():
        raise Invalid("required", "Name the school.", "school")
    async with ctx.db.read() as conn:
        visible = await visible_people(conn, actor)
        query = sa.select(people).where(
            people.c.org_id == actor.org_id, people.c.ap_pupil.is_(True), people.c.deleted_at.is_(None),
            sa.func.lower(people.c.school) == school.strip().lower()).order_by(
            people.c.last_name, people.c.first_name, people.c.id)
        pupils = [p for p in (await conn.execute(query)).all() if visible is None or p.id in visible]
        ids = [p.id for p in pupils]
        programme_ids = (await conn.execute(sa.select(sessions.c.programme_id).distinct().join(
            roster, roster.c.session_id == sessions.c.id).where(roster.c.person_id.in_(ids)).join(
            programmes, programmes.c.id == sessions.c.programme_id).where(
            programmes.c.org_id == actor.org_id))).scalars().all() if ids else []
        found: dict[int, list[tuple[datetime, str, str]]] = {pid: [] for pid in ids}
        for programme_id in sorted(programme_ids):
            info = await load_programme(conn, programme_id, actor.org_id)
            for s in await load_standings(conn, info, now, ids):
                for a in s.items:
                    if a.session.starts_at > now or not _in_range(a.session.starts_at, info, start, end):
                        continue
                    marked = statutory(a, info)
                    if marked is not None:
                        found[s.person.id].append((a.session.starts_at, *marked))
    rows = []
    for p in pupils:
        entries = sorted(found[p.id])
        counts = {k: sum(1 for _, _, c in entries if c == k)
                  for k in ("present", "authorised", "unauthorised", "not_possible", "unmarked")}
        possible = counts["present"] + counts["authorised"] + counts["unauthorised"]
        rows.append({"school": p.school, "person_id": p.id, "external_ref": p.external_ref or "",
                     "first_name": p.first_name, "last_name": p.last_name, "date_of_birth": jsonable(p.date_of_birth),
                     "on_school_roll": p.on_school_roll, "possible": possible, **counts,
                     "attendance_percent": round(100 * counts["present"] / possible, 1) if possible else None,
                     "codes": " ".join(code for _, code, _ in entries)})
    return to_csv(SCHOOL, rows)


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


__all__ = ["MARKS", "REQUIREMENTS", "SCHOOL", "SUMMARY", "WEEKLY", "marks_csv", "requirements_csv",
           "school_csv", "schools", "summary_csv", "to_csv", "weekly_csv"]
