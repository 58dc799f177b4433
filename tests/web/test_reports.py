"""The programme and participant reports through the API, with demo-like data.

`seed_cohort` is shared with the CSV export and browser tests: six weekly workshops of an
Executive Leaders programme (100% of content, at least 80% live) and two to come, with a
participant for each kind of standing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from checkin.clock import DrivenClock
from checkin.context import AppContext
from checkin.domain.completion import REQUIREMENT_PRESETS, requirements_to_json
from checkin.domain.model import MarkSource, MarkStatus, Role
from checkin.domain.principal import system
from checkin.services.completion import reevaluate_person
from checkin.services.marking import record_mark
from checkin.storage.database import Tx
from checkin.storage.tables import catch_ups, enrolments, organisations, programmes
from tests import factories
from tests.conftest import make_user, sign_in

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
P, L, E, A, U = "P", "L12", "E", "A", "U"  # present, late 12 minutes, left at half time, authorised, unauthorised


@dataclass
class Cohort:
    programme_id: int
    people: dict[str, int]
    sessions: list[int]


PLAN = {  # six past weeks, oldest first; "-" not on the roster
    ("Priya", "Okafor"): ["L5", P, P, L, P, P],
    ("Tomasz", "Byrne"): [P, P, A, P, P, P],
    ("John", "Whitfield"): [P, U, U, P, U, P],
    ("Alessia", "Marchetti"): [P, P, P, U, P, P],
    ("Siân", "Llewelyn Ward"): [P, P, P, P, E, P],
    ("Ben", "Sample"): [P, P, "-", "-", "-", "-"],
}


async def seed_cohort(ctx: AppContext, now: datetime, *, tutor_id: int | None = None) -> Cohort:
    """Six weekly sessions before `now` and two after; marks as PLAN says; Tomasz caught up by materials."""
    programme_id = await factories.programme(
        ctx, name="Executive Leaders 2026", code_set="plain", preset="",
        requirements=requirements_to_json(REQUIREMENT_PRESETS["amb_executive_leaders"]),
        weekly_report_to=["ecf.lead@example.org", {"email": "dp.lead@example.org", "name": "DP Lead"}])
    day = (now - timedelta(days=now.weekday())).replace(hour=9, minute=0, second=0, microsecond=0)
    starts = [day - timedelta(weeks=6 - i) for i in range(6)] + [day + timedelta(weeks=i) for i in (1, 2)]
    people: dict[str, int] = {}
    for first, last in PLAN:
        people[first] = await factories.person(ctx, first, last, school="Northfield Academy")
    sessions = []
    for i, start in enumerate(starts):
        roster = tuple(pid for (first, _), pid in zip(PLAN, people.values(), strict=True)
                       if i >= 6 or PLAN[(first, _)][i] != "-")
        roster = tuple(p for p in roster if not (p == people["Ben"] and i >= 2))
        sessions.append(await factories.session(ctx, programme_id, start, minutes=120, kind="workshop",
                                                element="workshops", title=f"Workshop {i + 1}", person_ids=roster,
                                                tutor_ids=(tutor_id,) if tutor_id and i == 0 else ()))

    async def enrol(tx: Tx) -> None:
        for first, pid in people.items():
            await tx.conn.execute(sa.insert(enrolments).values(
                person_id=pid, programme_id=programme_id, status="withdrawn" if first == "Ben" else "active",
                updated_at=now))

    await ctx.db.write(enrol)
    for (first, _), marks in PLAN.items():
        for i, letter in enumerate(marks):
            if letter != "-":
                await _mark(ctx, sessions[i], starts[i], people[first], letter)
    await _materials(ctx, people["Tomasz"], sessions[2], now)

    async def evaluate(tx: Tx) -> None:
        for pid in people.values():
            await reevaluate_person(tx, ctx, pid, programme_id, now)

    await ctx.db.write(evaluate)
    return Cohort(programme_id, people, sessions)


async def _mark(ctx: AppContext, session_id: int, start: datetime, person_id: int, letter: str) -> None:
    status = {"P": MarkStatus.PRESENT, "E": MarkStatus.LEFT_EARLY, "A": MarkStatus.ABSENT_AUTHORISED,
              "U": MarkStatus.ABSENT_UNAUTHORISED}.get(letter[0], MarkStatus.LATE)
    late = int(letter[1:]) if letter[0] == "L" else 0
    at = start + timedelta(minutes=late if letter[0] == "L" else 60 if letter == "E" else 0)

    async def work(tx: Tx) -> None:
        await record_mark(tx, ctx, session_id=session_id, person_id=person_id, status=status, code=None,
                          source=MarkSource.TABLET, actor=system(ctx.extras["org_id"]), now=at,
                          arrived_at=start if letter == "E" else None)

    await ctx.db.write(work)


async def _materials(ctx: AppContext, person_id: int, session_id: int, now: datetime) -> None:
    async def work(tx: Tx) -> None:
        await tx.conn.execute(sa.insert(catch_ups).values(
            person_id=person_id, session_id=session_id, kind="materials", form_completed_at=now,
            reflective_log="Watched the recording and wrote my reflections.", created_at=now))

    await ctx.db.write(work)


@pytest.fixture
async def cohort(ctx: AppContext) -> Cohort:
    return await seed_cohort(ctx, NOW)


async def get(client: httpx.AsyncClient, url: str, **params: Any) -> Any:
    r = await client.get(url, params=params)
    assert r.status_code == 200, r.text
    return r.json()


# The programme page

async def test_the_programme_report_lists_the_at_risk_first(client: httpx.AsyncClient, admin: dict[str, str],
                                                            cohort: Cohort) -> None:
    report = await get(client, f"/api/programmes/{cohort.programme_id}/report")
    assert [(p["name"], p["status"]) for p in report["people"]] == [
        ("John Whitfield", "cannot_complete"), ("Tomasz Byrne", "at_risk"), ("Siân Llewelyn Ward", "at_risk"),
        ("Alessia Marchetti", "at_risk"), ("Priya Okafor", "on_track"), ("Ben Sample", "on_track")]
    assert [p["name"] for p in report["at_risk"]] == ["John Whitfield", "Tomasz Byrne", "Siân Llewelyn Ward",
                                                     "Alessia Marchetti"]
    assert report["totals"]["cannot_complete"] == 1


async def test_the_programme_report_has_weekly_percentages(client: httpx.AsyncClient, admin: dict[str, str],
                                                           cohort: Cohort) -> None:
    weeks = (await get(client, f"/api/programmes/{cohort.programme_id}/report"))["weekly"]
    assert [(w["week"], w["sessions"], w["present"], w["percent"]) for w in weeks] == [
        ("2026-01-19", 6, 6, 100.0), ("2026-01-26", 6, 5, 83.3), ("2026-02-02", 5, 3, 60.0),
        ("2026-02-09", 5, 4, 80.0), ("2026-02-16", 5, 4, 80.0), ("2026-02-23", 5, 5, 100.0)]


async def test_punctuality_is_reported_beside_attendance(client: httpx.AsyncClient, admin: dict[str, str],
                                                        cohort: Cohort) -> None:
    report = await get(client, f"/api/programmes/{cohort.programme_id}/report")
    priya = next(p for p in report["people"] if p["first_name"] == "Priya")
    assert (priya["attendance_percent"], priya["late_arrivals"], priya["minutes_late_total"],
            priya["average_minutes_late"]) == (100.0, 2, 17, 8.5)
    first = report["weekly"][0]
    assert (first["late_arrivals"], first["average_minutes_late"]) == (1, 5.0)


async def test_a_tutor_sees_only_the_people_they_teach(ctx: AppContext, client: httpx.AsyncClient) -> None:
    tutor_id = await make_user(ctx, "tess.tutor@example.org", Role.TUTOR)
    cohort = await seed_cohort(ctx, NOW, tutor_id=tutor_id)
    await sign_in(client, "tess.tutor@example.org")
    report = await get(client, f"/api/programmes/{cohort.programme_id}/report")
    assert len(report["people"]) == 6
    hidden = await factories.person(ctx, "Nia", "Elsewhere")
    r = await client.get(f"/api/people/{hidden}/report")
    assert (r.status_code, r.json()["error"]["code"]) == (403, "not_your_person")


async def test_another_organisations_programme_is_not_found(ctx: AppContext, client: httpx.AsyncClient,
                                                            admin: dict[str, str]) -> None:
    async def other(tx: Tx) -> int:
        org = (await tx.conn.execute(sa.insert(organisations).values(
            name="Other", safeguarding_chain=[], bank_holidays=[], created_at=NOW).returning(
            organisations.c.id))).scalar_one()
        return int((await tx.conn.execute(sa.insert(programmes).values(
            org_id=org, name="Theirs", policy={}, requirements=[], reasons=[], weekly_report_to=[],
            created_at=NOW, updated_at=NOW).returning(programmes.c.id))).scalar_one())

    theirs = await ctx.db.write(other)
    for url in (f"/api/programmes/{theirs}/report", f"/api/programmes/{theirs}/exports/summary.csv"):
        r = await client.get(url)
        assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found")


async def test_reports_need_a_sign_in(client: httpx.AsyncClient, cohort: Cohort) -> None:
    r = await client.get(f"/api/programmes/{cohort.programme_id}/report")
    assert r.status_code == 401


# The participant page

async def test_the_participant_report_shows_the_timeline_and_what_needs_catching_up(
        client: httpx.AsyncClient, admin: dict[str, str], cohort: Cohort) -> None:
    report = await get(client, f"/api/people/{cohort.people['Siân']}/report")
    [programme] = report["programmes"]
    timeline = programme["timeline"]
    assert [t["outcome"] for t in timeline] == ["attended"] * 4 + ["missed", "attended", "remaining", "remaining"]
    assert (timeline[4]["share_missed_percent"], timeline[4]["catch_up_required"]) == (50.0, True)
    assert programme["catch_up_required"] == [cohort.sessions[4]]
    assert programme["completion"]["status"] == "at_risk"


async def test_a_catch_up_recorded_through_the_api_puts_the_participant_back_on_track(
        client: httpx.AsyncClient, admin: dict[str, str], cohort: Cohort) -> None:
    sian = cohort.people["Siân"]
    r = await client.post(f"/api/people/{sian}/catch-ups", headers=admin, json={
        "session_id": cohort.sessions[4], "kind": "materials", "form_completed_at": NOW.isoformat(),
        "reflective_log": "Went through the second half's slides and wrote up my reflections."})
    assert r.status_code == 201, r.text
    [programme] = (await get(client, f"/api/people/{sian}/report"))["programmes"]
    assert (programme["completion"]["status"], programme["timeline"][4]["outcome"],
            programme["timeline"][4]["catch_up"]) == ("on_track", "attended", "materials")
    assert [c["confirmed"] for c in programme["catch_ups"]] == [True]


async def test_a_notice_recorded_through_the_api_shows_on_the_participant_page(
        client: httpx.AsyncClient, admin: dict[str, str], cohort: Cohort) -> None:
    priya = cohort.people["Priya"]
    r = await client.post(f"/api/sessions/{cohort.sessions[6]}/notices", headers=admin, json={
        "person_id": priya, "reason": "illness", "given_by": "Priya by e-mail"})
    assert r.status_code == 201, r.text
    listed = await get(client, f"/api/sessions/{cohort.sessions[6]}/notices")
    assert [(n["reason"], n["accepted"], n["recorded_by_name"]) for n in listed] == [
        ("Illness", True, "Ada Admin")]
    [programme] = (await get(client, f"/api/people/{priya}/report"))["programmes"]
    assert [(n["session_title"], n["reason"]) for n in programme["notices"]] == [("Workshop 7", "Illness")]


async def test_escalation_stages_recorded_through_the_api_show_on_the_participant_page(
        client: httpx.AsyncClient, admin: dict[str, str], cohort: Cohort) -> None:
    john = cohort.people["John"]
    r = await client.post(f"/api/people/{john}/escalations", headers=admin, json={
        "programme_id": cohort.programme_id, "stage": "explanation_requested", "note": "Two absences unexplained"})
    assert r.status_code == 201, r.text
    skipped = await client.post(f"/api/people/{john}/escalations", headers=admin, json={
        "programme_id": cohort.programme_id, "stage": "decision", "note": "Withdrawn"})
    assert (skipped.status_code, skipped.json()["error"]["code"]) == (409, "stage_out_of_order")
    [programme] = (await get(client, f"/api/people/{john}/report"))["programmes"]
    escalation = programme["escalation"]
    assert [(h["stage"], h["recorded_by_name"]) for h in escalation["history"]] == [
        ("explanation_requested", "Ada Admin")]
    assert escalation["next"][0]["id"] == "reminder_of_expectations"
    summary = await get(client, f"/api/programmes/{cohort.programme_id}/report")
    assert next(p for p in summary["people"] if p["person_id"] == john)["escalation_stage"] == "explanation_requested"


async def test_a_tutor_cannot_record_an_escalation_stage(ctx: AppContext, client: httpx.AsyncClient,
                                                         cohort: Cohort) -> None:
    await make_user(ctx, "tess.tutor@example.org", Role.TUTOR)
    headers = await sign_in(client, "tess.tutor@example.org")
    r = await client.post(f"/api/people/{cohort.people['John']}/escalations", headers=headers, json={
        "programme_id": cohort.programme_id, "stage": "explanation_requested"})
    assert r.status_code == 403


async def test_force_majeure_through_the_api(client: httpx.AsyncClient, admin: dict[str, str],
                                             cohort: Cohort, clock: DrivenClock) -> None:
    r = await client.post(f"/api/sessions/{cohort.sessions[6]}/force-majeure", headers=admin,
                          json={"reason": "Teacher strike closes the venue"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "force_majeure"
    clock.advance(weeks=2)
    await sign_in(client, "admin@example.org")
    [programme] = (await get(client, f"/api/people/{cohort.people['Priya']}/report"))["programmes"]
    assert programme["timeline"][6]["outcome"] == "excluded"
