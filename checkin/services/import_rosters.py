"""Roster files: put people on sessions; a pair already on the roster is left as it is.

A roster file only adds people: taking someone off a session is a deliberate act on the
admin page, never the side effect of a row missing from a spreadsheet.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.context import AppContext
from checkin.domain.imports import RosterRow
from checkin.domain.principal import Principal
from checkin.services.import_plan import KindPlan, RowOutcome, audit_many, audit_row
from checkin.services.import_refs import PersonRefs, fold, rows_where_in, session_refs
from checkin.services.import_sessions import replan
from checkin.storage.database import Tx
from checkin.storage.tables import roster


@dataclass
class RostersPlan(KindPlan):
    additions: list[tuple[int, int]] = field(default_factory=list)  # (session id, person id)

    async def write(self, tx: Tx, ctx: AppContext, actor: Principal, now: datetime) -> None:
        if self.additions:
            await tx.conn.execute(sa.insert(roster), [{"session_id": s, "person_id": p, "added_at": now}
                                                      for s, p in self.additions])
        await audit_many(tx.conn, [audit_row(now, actor, "roster_add", "session", s, session_id=s, person_id=p,
                                             after={"person_id": p, "via": "import"}) for s, p in self.additions])
        await replan(tx, ctx, {session_id for session_id, _ in self.additions}, now)


async def plan_rosters(conn: AsyncConnection, org_id: int, header: Collection[str],
                       rows: Sequence[RosterRow]) -> RostersPlan:
    plan = RostersPlan()
    found = await session_refs(conn, org_id, [r.session_ref for r in rows])
    people = await PersonRefs.for_refs(conn, org_id, [r.person_ref for r in rows])
    pairs: list[tuple[RosterRow, int, int]] = []
    for r in rows:
        session_id = _session_id(plan, found, r)
        person_id = people.resolve(r.row, "person_ref", r.person_ref, plan.problems)
        if session_id is not None and person_id is not None:
            pairs.append((r, session_id, person_id))
    existing = {(e.session_id, e.person_id) for e in await rows_where_in(
        conn, roster, roster.c.session_id, {session_id for _, session_id, _ in pairs})}
    seen: dict[tuple[int, int], int] = {}
    for r, session_id, person_id in pairs:
        pair = (session_id, person_id)
        if pair in seen:
            plan.problem(r.row, "person_ref", "duplicate", f"This row puts the same person on the same session "
                         f"as row {seen[pair]}.")
            continue
        seen[pair] = r.row
        if pair in existing:
            plan.outcomes.append(RowOutcome(r.row))
        else:
            plan.additions.append(pair)
            plan.outcomes.append(RowOutcome(r.row, created=True))
    return plan


def _session_id(plan: RostersPlan, found: dict[str, list[Any]], r: RosterRow) -> int | None:
    matches = found.get(fold(r.session_ref), [])
    if not matches:
        plan.problem(r.row, "session_ref", "unknown_session",
                     f"No session has the external_ref '{r.session_ref}'. Import it in a sessions file first.")
        return None
    if len(matches) > 1:
        plan.problem(r.row, "session_ref", "ambiguous_session",
                     f"{len(matches)} sessions have external_ref '{r.session_ref}' in different cases.")
        return None
    return int(matches[0].id)
