"""CSV imports, all or nothing per file: every problem is reported and nothing is written, or all is.

A file is decoded and checked row by row by the domain parser, then its references
(programmes, cohorts, people, sessions, tutors) are resolved against the organisation's
records. A preview stops there, on a read connection; an import resolves again inside the
write transaction, so what it writes is what it checked, and writes every row in that one unit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.context import AppContext
from checkin.domain.csvfile import MAX_ROWS, CsvFileError, RowProblem, decode_csv
from checkin.domain.errors import Invalid
from checkin.domain.import_columns import COLUMNS, ImportKind
from checkin.domain.imports import parse_rows
from checkin.domain.principal import Principal
from checkin.services.import_contacts import plan_contacts
from checkin.services.import_people import plan_people
from checkin.services.import_plan import KindPlan
from checkin.services.import_rosters import plan_rosters
from checkin.services.import_sessions import plan_sessions
from checkin.storage.audit import record
from checkin.storage.database import Tx
from checkin.storage.tables import organisations

Planner = Callable[[AsyncConnection, int, str, Collection[str], Sequence[Any]], Awaitable[KindPlan]]


def _without_zone(planner: Callable[[AsyncConnection, int, Collection[str], Sequence[Any]], Awaitable[KindPlan]]
                  ) -> Planner:
    def plan(conn: AsyncConnection, org_id: int, timezone: str, header: Collection[str],
             rows: Sequence[Any]) -> Awaitable[KindPlan]:
        return planner(conn, org_id, header, rows)
    return plan


PLANNERS: dict[ImportKind, Planner] = {
    ImportKind.PEOPLE: _without_zone(plan_people),
    ImportKind.CONTACTS: _without_zone(plan_contacts),
    ImportKind.SESSIONS: plan_sessions,
    ImportKind.ROSTERS: _without_zone(plan_rosters),
}


@dataclass(frozen=True)
class ImportOutcome:
    kind: ImportKind
    preview: bool
    rows: int
    created: int
    updated: int
    unchanged: int
    problems: list[RowProblem] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "preview": self.preview, "rows": self.rows, "created": self.created,
                "updated": self.updated, "unchanged": self.unchanged,
                "problems": [problem_dict(p) for p in self.problems]}


def problem_dict(p: RowProblem) -> dict[str, Any]:
    return {"row": p.row, "column": p.column, "code": p.code, "message": p.message}


class ImportInvalid(Invalid):
    """A file with problems: 422 "import_invalid" listing every one; nothing was written."""

    def __init__(self, kind: ImportKind, preview: bool, rows: int, problems: list[RowProblem]) -> None:
        first = problems[0]
        where = f"row {first.row}" + (f", column {first.column}" if first.column else "")
        count = f"{len(problems)} problems" if len(problems) > 1 else "a problem"
        super().__init__("import_invalid", f"Nothing was imported: the file has {count} (the first at {where}: "
                         f"{first.message})", None, kind=kind.value, preview=preview, rows=rows,
                         problems=[problem_dict(p) for p in problems])
        self.problems = problems


def import_kind(name: str) -> ImportKind:
    try:
        return ImportKind(name)
    except ValueError:
        kinds = ", ".join(k.value for k in ImportKind)
        raise Invalid("unknown_import_kind", f"There is no import of '{name}'; use one of: {kinds}.",
                      "kind", status=404) from None


def columns(kind: ImportKind) -> list[dict[str, Any]]:
    """The documented columns of one kind of file."""
    return [{"name": c.name, "description": c.description, "required": c.required, "max_length": c.max_length,
             "choices": list(c.choices)} for c in COLUMNS[kind]]


async def run_import(ctx: AppContext, actor: Principal, kind: ImportKind, data: bytes, *, preview: bool,
                     now: datetime, max_rows: int = MAX_ROWS) -> ImportOutcome:
    """Checks the file and, unless previewing, writes it; any problem raises ImportInvalid."""
    async with ctx.db.read() as conn:
        timezone = (await conn.execute(sa.select(organisations.c.timezone)
                                       .where(organisations.c.id == actor.org_id))).scalar_one()
    spec = COLUMNS[kind]
    try:
        table = decode_csv(data, required=[c.name for c in spec if c.required], known=[c.name for c in spec],
                           max_rows=max_rows)
    except CsvFileError as exc:
        raise ImportInvalid(kind, preview, 0, [RowProblem(exc.line or 1, exc.column or "", exc.code,
                                                          exc.message)]) from None
    parsed = parse_rows(kind, table.rows, ZoneInfo(timezone), table.row_numbers)
    header, total = set(table.header), len(table.rows)

    async def plan_on(conn: AsyncConnection) -> KindPlan:
        plan = await PLANNERS[kind](conn, actor.org_id, timezone, header, parsed.rows)
        problems = _ordered(kind, parsed.problems + plan.problems)
        if problems:
            raise ImportInvalid(kind, preview, total, problems)
        return plan

    if preview or parsed.problems:
        async with ctx.db.read() as conn:
            plan = await plan_on(conn)
        return _outcome(kind, preview, total, plan)

    async def work(tx: Tx) -> KindPlan:
        plan = await plan_on(tx.conn)
        await plan.write(tx, ctx, actor, now)
        await record(tx.conn, now, actor, "import", "import", kind.value,
                     after={"rows": total, "created": plan.created, "updated": plan.updated,
                            "unchanged": plan.unchanged})
        return plan

    return _outcome(kind, False, total, await ctx.db.write(work))


def _outcome(kind: ImportKind, preview: bool, total: int, plan: KindPlan) -> ImportOutcome:
    return ImportOutcome(kind, preview, total, plan.created, plan.updated, plan.unchanged)


def _ordered(kind: ImportKind, problems: list[RowProblem]) -> list[RowProblem]:
    """By row, then in the order the columns are documented."""
    order = {c.name: i for i, c in enumerate(COLUMNS[kind])}
    return sorted(problems, key=lambda p: (p.row, order.get(p.column, len(order)), p.code))
