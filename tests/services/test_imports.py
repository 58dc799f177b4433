"""CSV imports through the service: all or nothing per file, previews, re-imports, and people files."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from checkin.context import AppContext
from checkin.domain.import_columns import ImportKind
from checkin.domain.model import Role
from checkin.domain.principal import Principal
from checkin.services.imports import ImportInvalid, ImportOutcome, run_import
from checkin.storage.database import Tx
from checkin.storage.tables import audit_log, cohorts, enrolments, people
from tests import factories
from tests.conftest import both_backends, make_user

pytestmark = both_backends


async def manager(ctx: AppContext) -> Principal:
    user_id = await make_user(ctx, "pm@example.org", Role.PROGRAMME_MANAGER, "Pat Manager")
    return Principal(user_id, ctx.extras["org_id"], Role.PROGRAMME_MANAGER, "Pat Manager", "cookie")


async def run(ctx: AppContext, actor: Principal, kind: str, text: str | bytes, *,
              preview: bool = False) -> ImportOutcome:
    data = text.encode() if isinstance(text, str) else text
    return await run_import(ctx, actor, ImportKind(kind), data, preview=preview, now=ctx.clock())


async def refused(ctx: AppContext, actor: Principal, kind: str, text: str | bytes, *,
                  preview: bool = False) -> list[tuple[int, str, str]]:
    """The (row, column, code) of every problem of a file that must be refused."""
    with pytest.raises(ImportInvalid) as caught:
        await run(ctx, actor, kind, text, preview=preview)
    assert caught.value.code == "import_invalid" and caught.value.status == 422
    return [(p.row, p.column, p.code) for p in caught.value.problems]


async def count(ctx: AppContext, table: sa.Table, *where: Any) -> int:
    async with ctx.db.read() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(table).where(*where))).scalar_one())


async def insert(ctx: AppContext, table: sa.Table, **values: Any) -> int:
    async def work(tx: Tx) -> int:
        return int((await tx.conn.execute(sa.insert(table).values(**values).returning(table.c.id))).scalar_one())

    return await ctx.db.write(work)


async def rows(ctx: AppContext, table: sa.Table, *where: Any) -> list[Any]:
    async with ctx.db.read() as conn:
        return list((await conn.execute(sa.select(table).where(*where).order_by(*table.primary_key.columns))).all())


PEOPLE = (
    "first_name,last_name,email,external_ref,ap_pupil,on_school_roll,school,date_of_birth\n"
    "Priya,Okafor,priya.okafor@example.org,P-001,yes,no,,2011-04-02\n"
    "Tomasz,Byrne,,P-002,yes,yes,Harbourside Academy,2010-11-19\n"
)


async def test_a_people_file_creates_each_person_with_the_values_given(ctx: AppContext):
    actor = await manager(ctx)
    outcome = await run(ctx, actor, "people", PEOPLE)
    assert (outcome.rows, outcome.created, outcome.updated, outcome.unchanged) == (2, 2, 0, 0)
    found = await rows(ctx, people)
    assert [(p.external_ref, p.first_name, p.ap_pupil, p.on_school_roll, p.school) for p in found] == [
        ("P-001", "Priya", True, False, ""), ("P-002", "Tomasz", True, True, "Harbourside Academy")]
    assert found[0].date_of_birth == date(2011, 4, 2)


async def test_a_file_with_a_byte_order_mark_imports_the_same_as_one_without(ctx: AppContext):
    actor = await manager(ctx)
    with_bom = await run(ctx, actor, "people", b"\xef\xbb\xbf" + PEOPLE.encode(), preview=True)
    without = await run(ctx, actor, "people", PEOPLE, preview=True)
    assert with_bom == without
    assert (await run(ctx, actor, "people", b"\xef\xbb\xbf" + PEOPLE.encode())).created == 2
    assert [p.first_name for p in await rows(ctx, people)] == ["Priya", "Tomasz"]


async def test_re_importing_the_same_file_updates_by_external_ref_instead_of_duplicating(ctx: AppContext):
    actor = await manager(ctx)
    await run(ctx, actor, "people", PEOPLE)
    again = await run(ctx, actor, "people", PEOPLE.replace("Harbourside Academy", "Quayside School"))
    assert (again.created, again.updated, again.unchanged) == (0, 1, 1)
    assert await count(ctx, people) == 2
    assert (await rows(ctx, people, people.c.external_ref == "P-002"))[0].school == "Quayside School"


async def test_a_column_the_file_leaves_out_keeps_the_value_already_stored(ctx: AppContext):
    actor = await manager(ctx)
    await run(ctx, actor, "people", PEOPLE)
    outcome = await run(ctx, actor, "people", "first_name,last_name,external_ref\nTomasz,Byrne,P-002\n")
    assert (outcome.updated, outcome.unchanged) == (0, 1)
    assert (await rows(ctx, people, people.c.external_ref == "P-002"))[0].school == "Harbourside Academy"


async def test_a_row_without_a_ref_updates_the_one_person_with_that_email(ctx: AppContext):
    actor = await manager(ctx)
    await factories.person(ctx, "Priya", "Okafor", email="priya.okafor@example.org")
    outcome = await run(ctx, actor, "people", "first_name,last_name,email,external_ref\n"
                                              "Priya,Okafor-Hale,PRIYA.OKAFOR@example.org,P-001\n")
    assert (outcome.created, outcome.updated) == (0, 1)
    [person] = await rows(ctx, people)
    assert (person.last_name, person.external_ref) == ("Okafor-Hale", "P-001")


async def test_a_preview_reports_what_would_change_and_writes_nothing(ctx: AppContext):
    actor = await manager(ctx)
    audit_before = await count(ctx, audit_log)
    outcome = await run(ctx, actor, "people", PEOPLE, preview=True)
    assert (outcome.preview, outcome.rows, outcome.created) == (True, 2, 2)
    assert await count(ctx, people) == 0
    assert await count(ctx, audit_log) == audit_before


async def test_every_broken_row_is_reported_by_row_column_and_code_and_nothing_is_written(ctx: AppContext):
    actor = await manager(ctx)
    text = ("first_name,last_name,email,external_ref,ap_pupil,date_of_birth,programme\n"
            "Priya,Okafor,priya.okafor@example.org,P-001,yes,2011-04-02,\n"
            ",Byrne,not-an-email,P-002,perhaps,2010-13-40,\n"
            "Leona,Marsh,,P-001,,,\n"
            "Idris,Vale,,P-004,,,Astronomy Club\n")
    assert await refused(ctx, actor, "people", text) == [
        (3, "first_name", "required"), (3, "email", "invalid_email"), (3, "ap_pupil", "invalid_boolean"),
        (3, "date_of_birth", "invalid_date"), (4, "external_ref", "duplicate"),
        (5, "programme", "unknown_programme")]
    assert await count(ctx, people) == 0


async def test_a_preview_of_a_broken_file_reports_the_same_problems(ctx: AppContext):
    actor = await manager(ctx)
    text = "first_name,last_name\nPriya,\n"
    assert await refused(ctx, actor, "people", text, preview=True) == [(2, "last_name", "required")]


async def test_a_file_that_is_not_utf8_is_one_coded_problem_at_its_line(ctx: AppContext):
    actor = await manager(ctx)
    data = "first_name,last_name\nZoë,Okafor\n".encode("latin-1")
    assert await refused(ctx, actor, "people", data) == [(2, "", "csv_encoding")]


async def test_a_missing_required_column_is_one_coded_problem_naming_it(ctx: AppContext):
    actor = await manager(ctx)
    assert await refused(ctx, actor, "people", "first_name\nPriya\n") == [(1, "last_name", "csv_missing_column")]


async def test_people_are_enrolled_on_the_programme_and_cohort_named(ctx: AppContext):
    actor = await manager(ctx)
    programme_id = await factories.programme(ctx, "AP Tuition")
    cohort_id = await insert(ctx, cohorts, programme_id=programme_id, name="Spring")
    text = "first_name,last_name,external_ref,programme,cohort\nPriya,Okafor,P-001,ap tuition,SPRING\n"
    assert (await run(ctx, actor, "people", text)).created == 1
    [enrolment] = await rows(ctx, enrolments)
    assert (enrolment.programme_id, enrolment.cohort_id, enrolment.status) == (programme_id, cohort_id, "active")
    assert (await run(ctx, actor, "people", text)).unchanged == 1
    assert await count(ctx, enrolments) == 1


async def test_an_unknown_cohort_is_a_problem_on_the_cohort_column(ctx: AppContext):
    actor = await manager(ctx)
    await factories.programme(ctx, "AP Tuition")
    text = "first_name,last_name,programme,cohort\nPriya,Okafor,AP Tuition,Autumn\n"
    assert await refused(ctx, actor, "people", text) == [(2, "cohort", "unknown_cohort")]


async def test_a_deleted_persons_ref_is_refused_rather_than_revived(ctx: AppContext):
    actor = await manager(ctx)
    await factories.person(ctx, "Priya", "Okafor", external_ref="P-001", deleted_at=ctx.clock())
    assert await refused(ctx, actor, "people", "first_name,last_name,external_ref\nPriya,Okafor,P-001\n") == [
        (2, "external_ref", "person_deleted")]


async def test_an_import_is_audited_row_by_row_and_as_a_whole(ctx: AppContext):
    actor = await manager(ctx)
    await run(ctx, actor, "people", PEOPLE)
    entries = await rows(ctx, audit_log, audit_log.c.actor_user_id == actor.user_id)
    assert [(e.action, e.entity) for e in entries] == [("create", "person"), ("create", "person"),
                                                       ("import", "import")]
    assert entries[-1].after == {"rows": 2, "created": 2, "updated": 0, "unchanged": 0}


async def test_a_file_of_only_a_header_imports_nothing_and_succeeds(ctx: AppContext):
    actor = await manager(ctx)
    outcome = await run(ctx, actor, "people", "first_name,last_name\n")
    assert (outcome.rows, outcome.created, outcome.problems) == (0, 0, [])
