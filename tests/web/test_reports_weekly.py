"""WEEKLY-REPORT: Monday 07:00 local, last week per programme to its leads, once per week."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from checkin.clock import DrivenClock
from checkin.context import AppContext
from checkin.domain.model import Role
from checkin.services.completion import load_programme
from checkin.services.dispatch import build_dispatcher
from checkin.services.weekly_report import (
    last_slot,
    next_slot,
    run_weekly_reports,
    send_weekly_reports,
    weekly_facts,
)
from checkin.settings import Settings
from checkin.storage.database import Tx
from checkin.storage.tables import deadlines, deliveries
from tests.alerts.conftest import SmtpServer, smtp_server  # noqa: F401
from tests.conftest import make_user, sign_in
from tests.web.test_reports import NOW, Cohort, seed_cohort

MONDAY_0700 = datetime(2026, 2, 23, 7, 0, tzinfo=UTC)  # winter: 07:00 in London is 07:00 UTC
SENDER = "reports@checkin.example.org"


@pytest.fixture
async def cohort(ctx: AppContext) -> Cohort:
    return await seed_cohort(ctx, NOW)


async def sent(ctx: AppContext) -> list[Any]:
    async with ctx.db.read() as conn:
        return list((await conn.execute(sa.select(deliveries).where(deliveries.c.kind == "WEEKLY-REPORT")
                                        .order_by(deliveries.c.recipient))).all())


def test_the_report_goes_at_07_00_on_monday_in_london_across_the_clock_change() -> None:
    from zoneinfo import ZoneInfo

    london = ZoneInfo("Europe/London")
    after_change = datetime(2026, 3, 30, 6, 30, tzinfo=UTC)  # Monday 07:30 BST
    assert last_slot(after_change, london) == datetime(2026, 3, 30, 6, 0, tzinfo=UTC)
    assert next_slot(datetime(2026, 3, 27, 12, 0, tzinfo=UTC), london) == datetime(2026, 3, 30, 6, 0, tzinfo=UTC)


async def test_monday_at_seven_sends_last_weeks_report_to_each_lead(ctx: AppContext, cohort: Cohort) -> None:
    outcome = await send_weekly_reports(ctx, MONDAY_0700)
    assert [(o["programme_id"], o["week"]) for o in outcome] == [(cohort.programme_id, "2026-02-16")]
    assert [d.recipient for d in await sent(ctx)] == ["dp.lead@example.org", "ecf.lead@example.org"]


async def test_the_report_is_a_fired_weekly_report_deadline_keyed_by_programme_and_week(
        ctx: AppContext, cohort: Cohort) -> None:
    await send_weekly_reports(ctx, MONDAY_0700)
    async with ctx.db.read() as conn:
        row = (await conn.execute(sa.select(deadlines).where(deadlines.c.rule_id == "WEEKLY-REPORT"))).one()
    assert row.key == f"WEEKLY-REPORT:p{cohort.programme_id}:w2026-02-16"
    assert (row.fired_at, row.result["outcome"], row.result["did"][0]["type"]) == (MONDAY_0700, "fired", "report")


async def test_the_report_says_who_missed_what_and_who_is_at_risk(ctx: AppContext, cohort: Cohort) -> None:
    async def work(tx: Tx) -> dict[str, Any]:
        info = await load_programme(tx.conn, cohort.programme_id)
        return await weekly_facts(tx, info, date(2026, 2, 16), MONDAY_0700)

    facts = await ctx.db.write(work)
    assert (facts["week_figures"]["percent"], facts["week_figures"]["sessions"]) == (80.0, 5)
    assert [(m["name"], m["session_title"]) for m in facts["missed"]] == [("John Whitfield", "Workshop 5")]
    assert facts["at_risk"][0]["name"] == "John Whitfield"
    assert facts["lines"][0] == "Attendance in the week of Monday 16 February 2026: 80.0% of 5 session places."


async def test_a_second_run_in_the_same_week_sends_nothing(ctx: AppContext, cohort: Cohort) -> None:
    await send_weekly_reports(ctx, MONDAY_0700)
    assert await send_weekly_reports(ctx, MONDAY_0700.replace(hour=15)) == []
    assert len(await sent(ctx)) == 2


async def test_before_seven_on_monday_the_new_week_is_not_reported_yet(ctx: AppContext, cohort: Cohort) -> None:
    early = await send_weekly_reports(ctx, MONDAY_0700.replace(hour=6, minute=59))
    assert [o["week"] for o in early] == ["2026-02-09"]
    on_time = await send_weekly_reports(ctx, MONDAY_0700)
    assert [o["week"] for o in on_time] == ["2026-02-16"]


async def test_a_programme_without_leads_gets_no_report(ctx: AppContext) -> None:
    from tests import factories

    await factories.programme(ctx, name="No leads", code_set="plain", preset="")
    assert await send_weekly_reports(ctx, MONDAY_0700) == []


async def test_the_background_loop_sends_on_start_when_the_monday_slot_has_passed(
        ctx: AppContext, cohort: Cohort, clock: DrivenClock) -> None:
    clock.now = MONDAY_0700.replace(hour=9)
    async with run_weekly_reports(ctx):
        for _ in range(200):
            if await sent(ctx):
                break
            await asyncio.sleep(0.01)
    assert len(await sent(ctx)) == 2


async def test_managers_can_send_the_due_reports_now(ctx: AppContext, client: httpx.AsyncClient,
                                                     cohort: Cohort, clock: DrivenClock) -> None:
    clock.now = MONDAY_0700
    await make_user(ctx, "morgan.manager@example.org", Role.PROGRAMME_MANAGER)
    headers = await sign_in(client, "morgan.manager@example.org")
    r = await client.post("/api/weekly-reports/send", headers=headers)
    assert r.status_code == 200, r.text
    assert [s["week"] for s in r.json()["sent"]] == ["2026-02-16"]
    again = await client.post("/api/weekly-reports/send", headers=headers)
    assert again.json()["sent"] == []


class TestThroughSmtp:
    """The report leaves through the outbox and reaches a real SMTP server."""

    @pytest.fixture
    def settings(self, tmp_path: Path, database_url: str, smtp_server: SmtpServer) -> Settings:  # noqa: F811
        smtp_server.start()
        return Settings.from_env({}, data_dir=tmp_path / "data", database_url=database_url,
                                 secret_key="test-secret-" + "x" * 40, public_base_url="http://testserver",
                                 smtp_host="127.0.0.1", smtp_port=smtp_server.port, smtp_from=SENDER)

    async def test_the_weekly_report_reaches_the_leads_inbox(self, ctx: AppContext, cohort: Cohort,
                                                             smtp_server: SmtpServer) -> None:  # noqa: F811
        await send_weekly_reports(ctx, MONDAY_0700)
        dispatcher = build_dispatcher(ctx)
        while await dispatcher.run_once():
            pass
        inboxes = sorted(rcpt for rcpts, _ in smtp_server.handler.received for rcpt in rcpts)
        assert inboxes == ["dp.lead@example.org", "ecf.lead@example.org"]
