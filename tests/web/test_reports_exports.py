"""CSV exports open with the csv module, carry the columns README.md documents, and agree with the pages."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from checkin.context import AppContext
from checkin.domain.model import MarkSource, MarkStatus
from checkin.domain.principal import system
from checkin.services.marking import record_mark
from checkin.storage.database import Tx
from checkin.storage.tables import sessions
from tests import factories
from tests.web.test_reports import NOW, Cohort, seed_cohort

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def documented() -> dict[str, list[str]]:
    """Each export's path (without the query) and its columns, from README's "## Exports" section."""
    section = README.split("\n## Exports\n", 1)[1].split("\n## ", 1)[0]
    out: dict[str, list[str]] = {}
    for block in section.split("\n### ")[1:]:
        path = re.search(r"`GET ([^`?]+)", block.splitlines()[0])
        assert path is not None, block.splitlines()[0]
        out[path.group(1)] = re.findall(r"^\| `([a-z_]+)` \|", block, re.M)
    return out


async def download(client: httpx.AsyncClient, url: str, **params: object) -> list[dict[str, str]]:
    r = await client.get(url, params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"].startswith("attachment; filename=")
    reader = csv.DictReader(io.StringIO(r.text, newline=""))
    rows = list(reader)
    path = re.sub(r"/\d+/", "/{programme_id}/", url)
    assert reader.fieldnames == documented()[path]
    return rows


@pytest.fixture
async def cohort(ctx: AppContext) -> Cohort:
    return await seed_cohort(ctx, NOW)


def test_the_readme_documents_five_exports() -> None:
    assert sorted(documented()) == [
        "/api/exports/school-attendance.csv", "/api/programmes/{programme_id}/exports/marks.csv",
        "/api/programmes/{programme_id}/exports/requirements.csv",
        "/api/programmes/{programme_id}/exports/summary.csv", "/api/programmes/{programme_id}/exports/weekly.csv"]


async def test_the_marks_export_has_a_row_per_participant_per_session(client: httpx.AsyncClient,
                                                                      admin: dict[str, str], cohort: Cohort) -> None:
    rows = await download(client, f"/api/programmes/{cohort.programme_id}/exports/marks.csv")
    assert len(rows) == 5 * 8 + 2
    priya_first = next(r for r in rows if r["first_name"] == "Priya" and r["session_title"] == "Workshop 1")
    assert (priya_first["mark_status"], priya_first["code"], priya_first["minutes_late"],
            priya_first["starts_at_local"], priya_first["outcome"]) == ("late", "L", "5", "09:00", "attended")
    sian_left = next(r for r in rows if r["first_name"] == "Siân" and r["session_title"] == "Workshop 5")
    assert (sian_left["mark_status"], sian_left["share_missed_percent"], sian_left["outcome"]) == (
        "left_early", "50.0", "missed")


async def test_the_marks_export_narrows_to_a_person_and_dates(client: httpx.AsyncClient, admin: dict[str, str],
                                                              cohort: Cohort) -> None:
    rows = await download(client, f"/api/programmes/{cohort.programme_id}/exports/marks.csv",
                          person_id=cohort.people["Tomasz"], **{"from": "2026-02-01", "to": "2026-02-10"})
    assert [(r["session_date"], r["mark_status"], r["catch_up"]) for r in rows] == [
        ("2026-02-02", "absent_authorised", "materials"), ("2026-02-09", "present", "")]


async def test_the_summary_export_agrees_with_the_programme_page(client: httpx.AsyncClient, admin: dict[str, str],
                                                                 cohort: Cohort) -> None:
    page = (await client.get(f"/api/programmes/{cohort.programme_id}/report")).json()["people"]
    rows = await download(client, f"/api/programmes/{cohort.programme_id}/exports/summary.csv")
    assert [(r["person_id"], r["status"], r["live_percent"], r["late_arrivals"]) for r in rows] == [
        (str(p["person_id"]), p["status"], f"{p['live_percent']}", str(p["late_arrivals"])) for p in page]


async def test_the_at_risk_export_is_the_at_risk_list(client: httpx.AsyncClient, admin: dict[str, str],
                                                      cohort: Cohort) -> None:
    rows = await download(client, f"/api/programmes/{cohort.programme_id}/exports/summary.csv", at_risk="true")
    assert [(r["first_name"], r["status"]) for r in rows] == [
        ("John", "cannot_complete"), ("Tomasz", "at_risk"), ("Siân", "at_risk"), ("Alessia", "at_risk")]


async def test_the_weekly_export_is_the_chart(client: httpx.AsyncClient, admin: dict[str, str],
                                              cohort: Cohort) -> None:
    page = (await client.get(f"/api/programmes/{cohort.programme_id}/report")).json()["weekly"]
    rows = await download(client, f"/api/programmes/{cohort.programme_id}/exports/weekly.csv")
    assert [(r["week"], float(r["percent"])) for r in rows] == [(w["week"], w["percent"]) for w in page]


async def test_the_requirements_export_has_each_verdict(client: httpx.AsyncClient, admin: dict[str, str],
                                                        cohort: Cohort) -> None:
    rows = await download(client, f"/api/programmes/{cohort.programme_id}/exports/requirements.csv",
                          person_id=cohort.people["John"])
    assert [(r["requirement"], r["status"], r["unit"], r["target"]) for r in rows] == [
        ("LIVE-80", "cannot_complete", "percent", "100")]


async def test_a_name_that_looks_like_a_formula_is_exported_as_text(ctx: AppContext, client: httpx.AsyncClient,
                                                                    admin: dict[str, str], cohort: Cohort) -> None:
    sneaky = await factories.person(ctx, "=HYPERLINK(\"http://example.org\")", "Sneaky")
    await factories.session(ctx, cohort.programme_id, NOW - timedelta(days=1), person_ids=(sneaky,))
    rows = await download(client, f"/api/programmes/{cohort.programme_id}/exports/summary.csv")
    assert "'=HYPERLINK(\"http://example.org\")" in [r["first_name"] for r in rows]


# School attendance in statutory codes (AP)

async def ap_mark(ctx: AppContext, session_id: int, person_id: int, status: MarkStatus, code: str | None,
                  at: datetime) -> None:
    async def work(tx: Tx) -> None:
        await record_mark(tx, ctx, session_id=session_id, person_id=person_id, status=status, code=code,
                          source=MarkSource.TABLET, actor=system(ctx.extras["org_id"]), now=at)

    await ctx.db.write(work)


async def test_a_school_export_counts_possible_authorised_and_unauthorised_sessions(
        ctx: AppContext, client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    programme_id = await factories.programme(ctx, name="AP Maths", code_set="dfe_2024", preset="")
    sam = await factories.person(ctx, "Sam", "Pupil", ap_pupil=True, school="Northfield Academy",
                                 on_school_roll=False, external_ref="UPN-1")
    elsewhere = await factories.person(ctx, "Kit", "Other", ap_pupil=True, school="Southside School")
    starts = [datetime(2026, 2, 16 + d, 9, 0, tzinfo=UTC) for d in range(7)]
    ids = [await factories.session(ctx, programme_id, s, person_ids=(sam, elsewhere)) for s in starts]
    plan = [(MarkStatus.PRESENT, None), (MarkStatus.LATE, None), (MarkStatus.ABSENT_UNAUTHORISED, None),
            (MarkStatus.ABSENT_AUTHORISED, "M")]
    for sid, start, (status, code) in zip(ids, starts, plan, strict=False):
        await ap_mark(ctx, sid, sam, status, code, start + timedelta(minutes=5))

    async def snow(tx: Tx) -> None:
        await tx.conn.execute(sa.update(sessions).where(sessions.c.id == ids[4]).values(status="force_majeure"))
        await tx.conn.execute(sa.update(sessions).where(sessions.c.id == ids[5]).values(
            status="cancelled", cancelled_by="provider"))

    await ctx.db.write(snow)
    await factories.session(ctx, programme_id, NOW + timedelta(days=3), person_ids=(sam,))
    schools = (await client.get("/api/exports/schools")).json()
    assert schools == [{"school": "Northfield Academy", "pupils": 1}, {"school": "Southside School", "pupils": 1}]
    rows = await download(client, "/api/exports/school-attendance.csv", school="northfield academy")
    assert [(r["person_id"], r["possible"], r["present"], r["authorised"], r["unauthorised"], r["not_possible"],
             r["unmarked"], r["attendance_percent"], r["codes"], r["on_school_roll"]) for r in rows] == [
        (str(sam), "4", "2", "1", "1", "1", "1", "50.0", "/ L O M Y7 ?", "false")]


async def test_a_school_export_needs_a_school(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    r = await client.get("/api/exports/school-attendance.csv")
    assert (r.status_code, r.json()["error"]["field"]) == (422, "school")
