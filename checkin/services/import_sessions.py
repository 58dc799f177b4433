"""Sessions files: create or update sessions by external_ref, set their tutor, re-plan their deadlines.

A row's tutor_email, when given, becomes the session's only tutor; a blank one leaves the
tutors as they are, so tutors added on the admin page survive a re-import without that column.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.context import AppContext
from checkin.domain.imports import SessionRow
from checkin.domain.model import Role
from checkin.domain.principal import Principal
from checkin.services.deadlines import replan_session
from checkin.services.import_plan import KindPlan, RowOutcome, audit_many, audit_row, changes, insert_many, jsonable
from checkin.services.import_refs import ProgrammeRefs, fold, rows_where_in, session_refs, staff_by_email
from checkin.storage.database import Tx
from checkin.storage.tables import session_tutors, sessions

OPTIONAL = ("element", "location", "mandatory")


async def replan(tx: Tx, ctx: AppContext, session_ids: Collection[int], now: datetime) -> None:
    for session_id in sorted(session_ids):
        await replan_session(tx, ctx, session_id, now)


@dataclass
class SessionStep:
    row: int
    session: Any  # the existing row, or None to create
    values: dict[str, Any]
    tutor_id: int | None
    tutors: set[int] = field(default_factory=set)  # the existing session's tutors
    session_id: int = 0  # set once the session exists

    def __post_init__(self) -> None:
        if self.session is not None:
            self.session_id = int(self.session.id)

    @property
    def tutors_change(self) -> bool:
        return self.tutor_id is not None and self.tutors != {self.tutor_id}


@dataclass
class SessionsPlan(KindPlan):
    org_id: int = 0
    timezone: str = "Europe/London"
    steps: list[SessionStep] = field(default_factory=list)

    async def write(self, tx: Tx, ctx: AppContext, actor: Principal, now: datetime) -> None:
        """New sessions in bulk, changed ones one by one, then each re-plans its deadlines."""
        conn = tx.conn
        new = [s for s in self.steps if s.session is None]
        created = [{"timezone": self.timezone, **s.values} for s in new]
        ids = await insert_many(conn, sessions, [{"org_id": self.org_id, "created_at": now, "updated_at": now, **v}
                                                 for v in created])
        audits = [audit_row(now, actor, "create", "session", i, session_id=i, after=jsonable(v) | {"via": "import"})
                  for v, i in zip(created, ids, strict=True)]
        for step, session_id in zip(new, ids, strict=True):
            step.session_id = session_id
        touched = set(ids)
        for step in self.steps:
            diff = changes(step.session, step.values) if step.session is not None else {}
            if diff:
                await conn.execute(sa.update(sessions).where(sessions.c.id == step.session_id)
                                   .values(updated_at=now, **diff))
                audits.append(audit_row(now, actor, "update", "session", step.session_id, session_id=step.session_id,
                                        before=jsonable({k: getattr(step.session, k) for k in diff}),
                                        after=jsonable(diff) | {"via": "import"}))
            if step.tutors_change:
                audits.append(await _set_tutor(conn, step, actor, now))
            if diff or step.tutors_change:
                touched.add(step.session_id)
        await audit_many(conn, audits)
        await replan(tx, ctx, touched, now)


async def _set_tutor(conn: AsyncConnection, step: SessionStep, actor: Principal, now: datetime) -> dict[str, Any]:
    """Makes the row's tutor the session's only tutor; the audit row to write."""
    assert step.tutor_id is not None
    await conn.execute(sa.delete(session_tutors).where(session_tutors.c.session_id == step.session_id,
                                                       session_tutors.c.user_id != step.tutor_id))
    if step.tutor_id not in step.tutors:
        await conn.execute(sa.insert(session_tutors).values(session_id=step.session_id, user_id=step.tutor_id))
    return audit_row(now, actor, "set_tutors", "session", step.session_id, session_id=step.session_id,
                     before={"tutor_ids": sorted(step.tutors)}, after={"tutor_ids": [step.tutor_id], "via": "import"})


async def plan_sessions(conn: AsyncConnection, org_id: int, timezone: str, header: Collection[str],
                        rows: Sequence[SessionRow]) -> SessionsPlan:
    plan = SessionsPlan(org_id=org_id, timezone=timezone)
    programmes = await ProgrammeRefs.load(conn, org_id)
    existing = await session_refs(conn, org_id, [r.external_ref for r in rows])
    staff = await staff_by_email(conn, org_id, [r.tutor_email for r in rows])
    for r in rows:
        before = len(plan.problems)
        programme_id, cohort_id = programmes.resolve(r.row, r.programme, r.cohort, plan.problems)
        tutor_id = _tutor(plan, staff, r)
        matches = existing.get(fold(r.external_ref), [])
        if len(matches) > 1:
            plan.problem(r.row, "external_ref", "ambiguous_session",
                         f"{len(matches)} sessions have external_ref '{r.external_ref}' in different cases.")
        if len(plan.problems) > before:
            continue
        values: dict[str, Any] = {
            "programme_id": programme_id, "external_ref": r.external_ref, "title": r.title, "kind": r.kind.value,
            "mode": r.mode.value, "starts_at": r.starts_at, "ends_at": r.ends_at,
        }
        values |= {name: getattr(r, name) for name in OPTIONAL if name in header}
        if "cohort" in header:
            values["cohort_id"] = cohort_id
        session = matches[0] if matches else None
        plan.steps.append(SessionStep(r.row, session, values, tutor_id))
    await _attach_tutors(conn, plan.steps)
    for step in plan.steps:
        updated = step.session is not None and (bool(changes(step.session, step.values)) or step.tutors_change)
        plan.outcomes.append(RowOutcome(step.row, created=step.session is None, updated=updated))
    return plan


def _tutor(plan: SessionsPlan, staff: dict[str, Any], r: SessionRow) -> int | None:
    if not r.tutor_email:
        return None
    user = staff.get(fold(r.tutor_email))
    if user is None:
        plan.problem(r.row, "tutor_email", "unknown_tutor",
                     f"No active staff account has the e-mail '{r.tutor_email}'.")
    elif user.role != Role.TUTOR.value:
        plan.problem(r.row, "tutor_email", "not_a_tutor", f"'{r.tutor_email}' is a {user.role}, not a tutor.")
    else:
        return int(user.id)
    return None


async def _attach_tutors(conn: AsyncConnection, steps: list[SessionStep]) -> None:
    ids = [s.session.id for s in steps if s.session is not None]
    by_session: dict[int, set[int]] = {}
    for link in await rows_where_in(conn, session_tutors, session_tutors.c.session_id, ids):
        by_session.setdefault(link.session_id, set()).add(link.user_id)
    for step in steps:
        if step.session is not None:
            step.tutors = by_session.get(step.session.id, set())
