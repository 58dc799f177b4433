"""Resolving what an import file names (programmes, cohorts, people, sessions, tutors) to ids, in bulk."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.domain.csvfile import RowProblem
from checkin.storage.tables import cohorts, people, programmes, sessions, users

CHUNK = 500  # stays far below SQLite's limit on bound parameters


def fold(value: str) -> str:
    """How references are compared: case-insensitive, surrounding spaces ignored."""
    return value.strip().casefold()


async def rows_where_in(conn: AsyncConnection, table: sa.Table, column: Any, values: Iterable[Any],
                        *where: Any) -> list[Any]:
    """Every row of `table` whose `column` is among `values`, queried a chunk at a time."""
    wanted, found = sorted(set(values)), list[Any]()
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start:start + CHUNK]
        found += (await conn.execute(sa.select(table).where(column.in_(chunk), *where))).all()
    return found


@dataclass
class ProgrammeRefs:
    """The organisation's programmes and their cohorts by folded name."""

    by_name: dict[str, int] = field(default_factory=dict)
    cohorts: dict[tuple[int, str], int] = field(default_factory=dict)

    @classmethod
    async def load(cls, conn: AsyncConnection, org_id: int) -> ProgrammeRefs:
        refs = cls()
        for prog in (await conn.execute(sa.select(programmes.c.id, programmes.c.name)
                                        .where(programmes.c.org_id == org_id))).all():
            refs.by_name[fold(prog.name)] = prog.id
        if refs.by_name:
            for row in (await conn.execute(sa.select(cohorts.c.id, cohorts.c.programme_id, cohorts.c.name)
                                           .where(cohorts.c.programme_id.in_(list(refs.by_name.values()))))).all():
                refs.cohorts[(row.programme_id, fold(row.name))] = row.id
        return refs

    def resolve(self, row: int, programme: str, cohort: str,
                problems: list[RowProblem]) -> tuple[int | None, int | None]:
        """(programme id, cohort id) for a row, adding a problem for a name that does not exist."""
        if not programme:
            if cohort:
                problems.append(RowProblem(row, "cohort", "cohort_needs_programme",
                                           "A cohort is named but no programme; add the programme column."))
            return None, None
        programme_id = self.by_name.get(fold(programme))
        if programme_id is None:
            problems.append(RowProblem(row, "programme", "unknown_programme",
                                       f"There is no programme called '{programme}'. Create it first, "
                                       "or correct the name."))
            return None, None
        if not cohort:
            return programme_id, None
        cohort_id = self.cohorts.get((programme_id, fold(cohort)))
        if cohort_id is None:
            problems.append(RowProblem(row, "cohort", "unknown_cohort",
                                       f"Programme '{programme}' has no cohort called '{cohort}'."))
        return programme_id, cohort_id


@dataclass
class PersonRefs:
    """People named by external_ref or e-mail (deleted people included, so they can be reported)."""

    by_ref: dict[str, list[Any]] = field(default_factory=dict)
    by_email: dict[str, list[Any]] = field(default_factory=dict)

    @classmethod
    async def load(cls, conn: AsyncConnection, org_id: int, refs: Sequence[str], emails: Sequence[str]
                   ) -> PersonRefs:
        found = cls()
        in_org = people.c.org_id == org_id
        for row in await rows_where_in(conn, people, sa.func.lower(people.c.external_ref),
                                       {r.lower() for r in refs if r}, in_org):
            found.by_ref.setdefault(fold(row.external_ref), []).append(row)
        for row in await rows_where_in(conn, people, sa.func.lower(people.c.email),
                                       {e.lower() for e in emails if e}, in_org):
            found.by_email.setdefault(fold(row.email), []).append(row)
        return found

    @classmethod
    async def for_refs(cls, conn: AsyncConnection, org_id: int, person_refs: Sequence[str]) -> PersonRefs:
        """Loads what a person_ref column could mean: an external_ref, or an e-mail address."""
        return await cls.load(conn, org_id, person_refs, [r for r in person_refs if "@" in r])

    def resolve(self, row: int, column: str, ref: str, problems: list[RowProblem]) -> int | None:
        """The person a person_ref names: an external_ref first, else a unique e-mail address."""
        matches = self.by_ref.get(fold(ref)) or ("@" in ref and self.by_email.get(fold(ref))) or []
        if not matches:
            problems.append(RowProblem(row, column, "unknown_person",
                                       f"No person has the external_ref or e-mail '{ref}'. "
                                       "Import them in a people file first."))
            return None
        if len(matches) > 1:
            problems.append(RowProblem(row, column, "ambiguous_person",
                                       f"{len(matches)} people match '{ref}'; refer to them by external_ref."))
            return None
        if matches[0].deleted_at is not None:
            problems.append(RowProblem(row, column, "person_deleted",
                                       f"The person '{ref}' has been deleted."))
            return None
        return int(matches[0].id)


async def session_refs(conn: AsyncConnection, org_id: int, refs: Sequence[str]) -> dict[str, list[Any]]:
    """Sessions of the organisation by folded external_ref."""
    found: dict[str, list[Any]] = {}
    for row in await rows_where_in(conn, sessions, sa.func.lower(sessions.c.external_ref),
                                   {r.lower() for r in refs if r}, sessions.c.org_id == org_id):
        found.setdefault(fold(row.external_ref), []).append(row)
    return found


async def staff_by_email(conn: AsyncConnection, org_id: int, emails: Sequence[str]) -> dict[str, Any]:
    """Active staff of the organisation by folded e-mail."""
    rows = await rows_where_in(conn, users, users.c.email, {e.lower() for e in emails if e},
                               users.c.org_id == org_id, users.c.active.is_(True))
    return {fold(row.email): row for row in rows}
