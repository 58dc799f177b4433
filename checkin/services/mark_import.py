"""CSV mark imports, by code or by time, all or nothing per file.

Columns: `session` (id or external ref; optional when the upload names the session),
`person` (external ref or e-mail, on that session's roster), then either `code` (a code of
the programme's set, which decides the status) or `arrived` / `departed` (local "09:05" on
the session's day, or ISO with an offset), which earn a mark by the same rules as a Zoom
report; `reason` and `note` are optional. Re-importing the same file changes nothing.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.context import AppContext
from checkin.domain.codes import CODE_SETS, PLAIN
from checkin.domain.csvfile import CsvFileError, RowProblem, decode_csv
from checkin.domain.errors import DomainError
from checkin.domain.import_columns import local_to_utc
from checkin.domain.model import MarkSource, MarkStatus
from checkin.domain.principal import Principal
from checkin.domain.zoom_attendance import zoom_mark
from checkin.services.completion import reevaluate_person
from checkin.services.marking import programme_policy, record_mark
from checkin.services.ownership import session_for
from checkin.services.records import jsonable
from checkin.services.zoom_import import ImportProblems, file_problem
from checkin.storage.database import Tx
from checkin.storage.tables import people, programmes, roster, sessions

COLUMNS = ("session", "person", "code", "arrived", "departed", "reason", "note")
ATTENDING = (MarkStatus.PRESENT, MarkStatus.LATE, MarkStatus.LEFT_EARLY)
_HHMM = re.compile(r"(\d{1,2}):(\d{2})")


@dataclass(frozen=True)
class PlannedMark:
    row: int
    session_id: int
    programme_id: int
    person_id: int
    status: MarkStatus
    code: str | None
    arrived_at: datetime | None
    departed_at: datetime | None
    minutes_late: int
    reason: str
    note: str

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "session_id": self.session_id, "person_id": self.person_id,
                "status": self.status.value, "code": self.code, "arrived_at": jsonable(self.arrived_at),
                "departed_at": jsonable(self.departed_at), "minutes_late": self.minutes_late}


class _Plan:
    """Resolves rows against the organisation's sessions, rosters and code sets, caching each lookup."""

    def __init__(self, conn: AsyncConnection, actor: Principal, session_id: int | None) -> None:
        self.conn, self.actor, self.session_id = conn, actor, session_id
        self.sessions: dict[str, Any] = {}
        self.rosters: dict[int, list[Any]] = {}
        self.problems: list[RowProblem] = []

    def problem(self, row: int, column: str, code: str, message: str) -> None:
        self.problems.append(RowProblem(row, column, code, message))

    async def session(self, row: int, ref: str) -> Any | None:
        key = ref or str(self.session_id or "")
        if not key:
            self.problem(row, "session", "required", "Name the session (its id or external reference).")
            return None
        if key not in self.sessions:
            found = (await self.conn.execute(sa.select(sessions.c.id).where(
                sessions.c.org_id == self.actor.org_id,
                sa.or_(sessions.c.external_ref == key, sessions.c.id == (int(key) if key.isdigit() else -1)),
            ))).scalar()
            try:
                session = await session_for(self.conn, self.actor, int(found)) if found is not None else None
            except DomainError as exc:
                self.problem(row, "session", exc.code, exc.message)
                return None
            if session is not None:
                programme = (await self.conn.execute(sa.select(programmes).where(
                    programmes.c.id == session.programme_id))).one()
                self.sessions[key] = (session, programme)
            else:
                self.sessions[key] = None
        if self.sessions[key] is None:
            self.problem(row, "session", "unknown_session", f"There is no session '{key}'.")
        return self.sessions[key]

    async def person(self, row: int, session: Any, ref: str) -> int | None:
        if session.id not in self.rosters:
            self.rosters[session.id] = list((await self.conn.execute(
                sa.select(people.c.id, people.c.external_ref, people.c.email)
                .join(roster, roster.c.person_id == people.c.id).where(roster.c.session_id == session.id))).all())
        wanted = ref.strip().casefold()
        found = [p.id for p in self.rosters[session.id]
                 if wanted and wanted in ((p.external_ref or "").casefold(), (p.email or "").casefold())]
        if len(found) == 1:
            return int(found[0])
        self.problem(row, "person", "not_on_roster" if not found else "ambiguous_person",
                     f"'{ref}' is not on the roster of \"{session.title}\"." if not found else
                     f"'{ref}' matches more than one person on the roster.")
        return None


def _when(value: str, session: Any, tz: ZoneInfo) -> datetime | str | None:
    """A local "09:05" on the session's day, or ISO with an offset; a string is the problem's message."""
    value = value.strip()
    if not value:
        return None
    found = _HHMM.fullmatch(value)
    if found is not None:
        hour, minute = int(found.group(1)), int(found.group(2))
        if hour > 23 or minute > 59:
            return f"'{value}' is not a time."
        instant = local_to_utc(session.starts_at.astimezone(tz).date(), time(hour, minute), tz)
        return instant if instant is not None else f"{value} does not exist that day: the clocks go forward."
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return f"'{value}' is not a time like 09:05 or 2026-03-02T09:05:00+00:00."
    return parsed if parsed.tzinfo is not None else f"'{value}' needs a UTC offset."


async def plan_rows(conn: AsyncConnection, actor: Principal, data: bytes,
                    session_id: int | None) -> list[PlannedMark]:
    try:
        table = decode_csv(data, required=["person"], known=COLUMNS)
    except CsvFileError as exc:
        raise ImportProblems([file_problem(exc)], "file") from None
    plan = _Plan(conn, actor, session_id)
    planned: list[PlannedMark] = []
    seen: set[tuple[int, int]] = set()
    for number, cells in zip(table.row_numbers, table.rows, strict=True):
        found = await plan.session(number, cells.get("session", "").strip())
        if found is None:
            continue
        session, programme = found
        person_id = await plan.person(number, session, cells["person"])
        if person_id is None:
            continue
        if (session.id, person_id) in seen:
            plan.problem(number, "person", "duplicate", "This person is marked twice for the session in this file.")
            continue
        seen.add((session.id, person_id))
        mark = _mark(plan, number, cells, session, programme)
        if mark is not None:
            planned.append(PlannedMark(number, session.id, session.programme_id, person_id, *mark,
                                       cells.get("reason", "").strip() or "CSV mark import",
                                       cells.get("note", "").strip()))
    if plan.problems:
        raise ImportProblems(sorted(plan.problems, key=lambda p: (p.row, COLUMNS.index(p.column)
                                                                  if p.column in COLUMNS else 99)), "file")
    return planned


def _mark(plan: _Plan, row: int, cells: dict[str, str], session: Any, programme: Any
          ) -> tuple[MarkStatus, str | None, datetime | None, datetime | None, int] | None:
    """(status, code, arrived, departed, minutes late) from the code or the times, or None after a problem."""
    tz = ZoneInfo(session.timezone or "Europe/London")
    times = [_when(cells.get(c, ""), session, tz) for c in ("arrived", "departed")]
    bad = [(c, t) for c, t in zip(("arrived", "departed"), times, strict=True) if isinstance(t, str)]
    for column, message in bad:
        plan.problem(row, column, "invalid_time", message)
    if bad:
        return None
    arrived, departed = (t if isinstance(t, datetime) else None for t in times)
    code_text = cells.get("code", "").strip()
    if code_text:
        codes = CODE_SETS.get(programme.code_set, PLAIN)
        code = codes.get(code_text)
        if code is None:
            plan.problem(row, "code", "unknown_code", f"'{code_text}' is not a code in the {codes.title} set.")
            return None
        if code.status not in ATTENDING and (arrived or departed):
            plan.problem(row, "arrived", "times_with_absence", f"Code {code.code} is an absence: leave the times "
                                                               "empty.")
            return None
        return code.status, code.code, arrived, departed if code.status is MarkStatus.LEFT_EARLY else None, 0
    if arrived is None:
        plan.problem(row, "code", "required", "Give a code, or the arrival time.")
        return None
    if departed is not None and departed < arrived:
        plan.problem(row, "departed", "leave_before_join", "The departure is before the arrival.")
        return None
    policy = programme_policy(programme.policy, programme.preset)
    found = zoom_mark([(arrived, departed or session.ends_at)], session.starts_at, session.ends_at,
                      100 - policy.left_early_threshold_percent, int(programme.grace_minutes or policy.grace_minutes))
    if found.status not in ATTENDING:
        return found.status, None, None, None, 0
    left = found.departed_at if found.status is MarkStatus.LEFT_EARLY else None
    return found.status, None, found.arrived_at, left, found.minutes_late


async def import_marks(ctx: AppContext, actor: Principal, data: bytes, *, preview: bool, now: datetime,
                       session_id: int | None = None) -> dict[str, Any]:
    """Checks every row; unless previewing, records each mark (source import) in one unit."""
    if preview:
        async with ctx.db.read() as conn:
            planned = await plan_rows(conn, actor, data, session_id)
        return {"preview": True, "rows": len(planned), "marks": [p.to_dict() for p in planned], "problems": []}
    digest = hashlib.sha256(data).hexdigest()[:16]

    async def work(tx: Tx) -> dict[str, Any]:
        planned = await plan_rows(tx.conn, actor, data, session_id)
        changed = 0
        for p in planned:
            try:
                result = await record_mark(
                    tx, ctx, session_id=p.session_id, person_id=p.person_id, status=p.status, code=p.code,
                    source=MarkSource.IMPORT, actor=actor, now=now, nonce=f"csv:{digest}:{p.row}",
                    device="csv-import", arrived_at=p.arrived_at, departed_at=p.departed_at,
                    minutes_late=p.minutes_late, reason=p.reason, note=p.note)
            except DomainError as exc:
                raise ImportProblems([RowProblem(p.row, exc.field or "", exc.code, exc.message)], "file") from None
            changed += result.changed and not result.duplicate
        for programme_id, person_id in sorted({(p.programme_id, p.person_id) for p in planned}):
            await reevaluate_person(tx, ctx, person_id, programme_id, now)
        return {"preview": False, "rows": len(planned), "changed": changed,
                "marks": [p.to_dict() for p in planned], "problems": []}

    return await ctx.db.write(work)
