"""People files: match each row to an existing person or create one, and enrol them on a programme.

A row is matched by external_ref; a row without one (or whose ref is new) is matched by
e-mail to a single person who has no ref of their own. Only the columns the file has are
written, so a file of names and refs never blanks a school someone typed in by hand.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.context import AppContext
from checkin.domain.imports import PersonRow
from checkin.domain.principal import Principal
from checkin.services.import_plan import KindPlan, RowOutcome, audit_many, audit_row, changes, insert_many, jsonable
from checkin.services.import_refs import PersonRefs, ProgrammeRefs, fold, rows_where_in
from checkin.storage.database import Tx
from checkin.storage.tables import enrolments, people

OPTIONAL = ("email", "external_ref", "ap_pupil", "on_school_roll", "school", "employer", "date_of_birth")


@dataclass
class PersonStep:
    row: int
    person: Any  # the existing row, or None to create
    values: dict[str, Any]
    enrol: tuple[int, int | None] | None  # (programme id, cohort id)
    enrolment: Any = None  # the existing enrolment row, if any
    person_id: int | None = None  # set once the person exists

    def __post_init__(self) -> None:
        if self.person is not None:
            self.person_id = int(self.person.id)


@dataclass
class PeoplePlan(KindPlan):
    org_id: int = 0
    steps: list[PersonStep] = field(default_factory=list)

    async def write(self, tx: Tx, ctx: AppContext, actor: Principal, now: datetime) -> None:
        """New people and enrolments in bulk; changed people one statement each (usually few)."""
        conn, audits = tx.conn, list[dict[str, Any]]()
        new = [s for s in self.steps if s.person is None]
        created = [{"email": "", **s.values} for s in new]
        ids = await insert_many(conn, people, [{"org_id": self.org_id, "created_at": now, **v} for v in created])
        for step, values, person_id in zip(new, created, ids, strict=True):
            step.person_id = person_id
            audits.append(audit_row(now, actor, "create", "person", person_id, person_id=person_id,
                                    after=jsonable(values) | {"via": "import"}))
        for step in self.steps:
            diff = changes(step.person, step.values) if step.person is not None else {}
            if diff:
                await conn.execute(sa.update(people).where(people.c.id == step.person_id).values(**diff))
                audits.append(audit_row(now, actor, "update", "person", step.person_id, person_id=step.person_id,
                                        before=jsonable({k: getattr(step.person, k) for k in diff}),
                                        after=jsonable(diff) | {"via": "import"}))
        audits += await _write_enrolments(conn, self.steps, actor, now)
        await audit_many(conn, audits)


async def plan_people(conn: AsyncConnection, org_id: int, header: Collection[str],
                      rows: Sequence[PersonRow]) -> PeoplePlan:
    plan = PeoplePlan(org_id=org_id)
    refs = await PersonRefs.load(conn, org_id, [r.external_ref for r in rows], [r.email for r in rows])
    programmes = await ProgrammeRefs.load(conn, org_id)
    claimed: dict[int, int] = {}  # person id -> the row that matched it
    for r in rows:
        before = len(plan.problems)
        person = _match(plan, refs, r)
        if person is not None and person.id in claimed:
            plan.problem(r.row, "external_ref" if r.external_ref else "email", "duplicate",
                         f"This row and row {claimed[person.id]} are the same person.")
        programme_id, cohort_id = programmes.resolve(r.row, r.programme, r.cohort, plan.problems)
        if len(plan.problems) > before:
            continue
        if person is not None:
            claimed[person.id] = r.row
        values = {"first_name": r.first_name, "last_name": r.last_name}
        values |= {name: _cell(r, name) for name in OPTIONAL if name in header}
        plan.steps.append(PersonStep(r.row, person, values, (programme_id, cohort_id) if programme_id else None))
    await _attach_enrolments(conn, plan.steps)
    plan.outcomes = [_outcome(step) for step in plan.steps]
    return plan


def _cell(r: PersonRow, name: str) -> Any:
    value = getattr(r, name)
    return (value or None) if name == "external_ref" else value


def _match(plan: PeoplePlan, refs: PersonRefs, r: PersonRow) -> Any:
    """The existing person this row is about, or None for a new person (problems added to `plan`)."""
    if r.external_ref:
        by_ref = refs.by_ref.get(fold(r.external_ref), [])
        if len(by_ref) > 1:
            plan.problem(r.row, "external_ref", "ambiguous_person",
                         f"{len(by_ref)} people have external_ref '{r.external_ref}' in different cases.")
            return None
        if by_ref:
            return _alive(plan, r, by_ref[0], "external_ref")
    if not r.email:
        return None
    by_email = [p for p in refs.by_email.get(fold(r.email), []) if not r.external_ref or not p.external_ref]
    if len(by_email) > 1:
        plan.problem(r.row, "email", "ambiguous_person",
                     f"{len(by_email)} people have the e-mail '{r.email}'; give this row an external_ref.")
        return None
    return _alive(plan, r, by_email[0], "email") if by_email else None


def _alive(plan: PeoplePlan, r: PersonRow, person: Any, column: str) -> Any:
    if person.deleted_at is not None:
        plan.problem(r.row, column, "person_deleted",
                     "This person was deleted; restore them before importing them again.")
        return None
    return person


async def _attach_enrolments(conn: AsyncConnection, steps: list[PersonStep]) -> None:
    ids = [s.person.id for s in steps if s.person is not None and s.enrol is not None]
    found = {(e.person_id, e.programme_id): e for e in await rows_where_in(conn, enrolments,
                                                                           enrolments.c.person_id, ids)}
    for step in steps:
        if step.person is not None and step.enrol is not None:
            step.enrolment = found.get((step.person.id, step.enrol[0]))


def _enrolment_changes(step: PersonStep) -> bool:
    if step.enrol is None:
        return False
    if step.enrolment is None:
        return True
    return step.enrol[1] is not None and step.enrolment.cohort_id != step.enrol[1]


def _outcome(step: PersonStep) -> RowOutcome:
    if step.person is None:
        return RowOutcome(step.row, created=True)
    return RowOutcome(step.row, updated=bool(changes(step.person, step.values)) or _enrolment_changes(step))


async def _write_enrolments(conn: AsyncConnection, steps: list[PersonStep], actor: Principal,
                            now: datetime) -> list[dict[str, Any]]:
    audits = []
    rows: list[dict[str, Any]] = [
        {"person_id": s.person_id, "programme_id": s.enrol[0], "cohort_id": s.enrol[1], "status": "active",
         "updated_at": now} for s in steps if s.enrol is not None and s.enrolment is None]
    for row, enrolment_id in zip(rows, await insert_many(conn, enrolments, rows), strict=True):
        audits.append(audit_row(now, actor, "create", "enrolment", enrolment_id, person_id=row["person_id"],
                                after={"programme_id": row["programme_id"], "cohort_id": row["cohort_id"],
                                       "via": "import"}))
    for step in steps:
        if step.enrol is None or step.enrolment is None or not _enrolment_changes(step):
            continue
        cohort_id = step.enrol[1]
        await conn.execute(sa.update(enrolments).where(enrolments.c.id == step.enrolment.id)
                           .values(cohort_id=cohort_id, updated_at=now))
        audits.append(audit_row(now, actor, "update", "enrolment", step.enrolment.id, person_id=step.person_id,
                                before={"cohort_id": step.enrolment.cohort_id},
                                after={"cohort_id": cohort_id, "via": "import"}))
    return audits
