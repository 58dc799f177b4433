"""The programme and participant pages in a real Chromium, with a cohort like the demo's."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from checkin.context import AppContext
from checkin.domain.model import Role
from tests.browser.conftest import sign_in_page
from tests.conftest import PASSWORD, LiveServer, make_user
from tests.web.test_reports import Cohort, seed_cohort
from tests.web.test_reports_exports import documented

pytestmark = pytest.mark.browser
MANAGER = "morgan.manager@example.org"


@dataclass
class Seen:
    page: Page
    cohort: Cohort
    errors: list[str]


@pytest.fixture
def seen(browser: Any, live: LiveServer) -> Iterator[Seen]:
    ctx: AppContext = live.app.state.ctx

    async def seed() -> Cohort:
        await make_user(ctx, MANAGER, Role.PROGRAMME_MANAGER, "Morgan Manager")
        return await seed_cohort(ctx, datetime.now(UTC))

    cohort = live.run(seed())
    context = sign_in_page(browser, live, MANAGER, PASSWORD)
    page = context.new_page()
    errors: list[str] = []
    # Script errors and refused requests (a CSP violation shows as one); the browser's favicon probe is not ours.
    page.on("console", lambda m: errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    yield Seen(page, cohort, errors)
    context.close()


def test_the_programme_page_shows_the_at_risk_list_first(seen: Seen) -> None:
    page = seen.page
    page.goto(f"/programme.html?id={seen.cohort.programme_id}")
    expect(page.locator("#title")).to_have_text("Executive Leaders 2026")
    risk = page.locator("#risk-list > li")
    expect(risk).to_have_count(4)
    expect(risk.first).to_contain_text("John Whitfield")
    expect(risk.first.locator(".status")).to_have_text("Cannot complete")
    rows = page.locator("#people tbody tr")
    expect(rows).to_have_count(6)
    expect(rows.first).to_contain_text("John Whitfield")
    expect(rows.last).to_contain_text("Ben Sample")
    assert seen.errors == []


def test_the_weekly_chart_is_drawn_as_svg_with_punctuality_beside_it(seen: Seen) -> None:
    page = seen.page
    page.goto(f"/programme.html?id={seen.cohort.programme_id}")
    bars = page.locator("svg.weekly-chart rect.bar")
    expect(bars).to_have_count(6)
    heights = [float(bars.nth(i).get_attribute("height") or 0) for i in range(6)]
    assert heights[0] == max(heights) and heights[2] == min(heights)  # 100% in week 1, 60% in week 3
    expect(page.locator("svg.weekly-chart text.value")).to_have_text(["100%", "83.3%", "60%", "80%", "80%", "100%"])
    expect(page.locator("svg.weekly-chart text.late").first).to_have_text("5 min late")
    expect(page.locator("svg.weekly-chart line.target")).to_have_count(1)
    expect(page.locator("#weekly-figures tbody tr")).to_have_count(6)
    box = page.locator("svg.weekly-chart").bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 100
    assert seen.errors == []


def test_every_export_on_the_programme_page_opens_as_csv_with_its_columns(seen: Seen) -> None:
    page = seen.page
    page.goto(f"/programme.html?id={seen.cohort.programme_id}")
    links = page.locator("a.csv")
    expect(links).to_have_count(5)
    columns = documented()
    for i in range(5):
        href = links.nth(i).get_attribute("href") or ""
        response = page.request.get(href)
        assert response.ok, href
        reader = csv.DictReader(io.StringIO(response.text(), newline=""))
        rows = list(reader)
        path = href.split("?")[0].replace(f"/{seen.cohort.programme_id}/", "/{programme_id}/")
        assert reader.fieldnames == columns[path], href
        assert rows, href


def test_the_participant_page_shows_the_timeline_and_records_an_escalation_stage(seen: Seen) -> None:
    page = seen.page
    page.goto(f"/programme.html?id={seen.cohort.programme_id}")
    page.locator("#people a", has_text="John Whitfield").click()
    expect(page.locator("#title")).to_have_text("John Whitfield")
    section = page.locator(f"section[data-programme='{seen.cohort.programme_id}']")
    expect(section.locator(".panel-head .status").first).to_have_text("Cannot complete")
    expect(section.locator("table.timeline tbody tr")).to_have_count(8)
    expect(section.locator("table.timeline .outcome[data-outcome='missed']")).to_have_count(3)
    expect(section.locator("svg.weekly-chart rect.bar")).to_have_count(6)
    form = section.locator("form.stage-form")
    form.locator("select").select_option("explanation_requested")
    form.locator("textarea").fill("E-mailed about the three missed workshops")
    form.locator("button[type=submit]").click()
    expect(page.locator("#toast")).to_have_text("Stage recorded.")
    history = page.locator(f"#escalation-{seen.cohort.programme_id} table tbody tr")
    expect(history).to_have_count(1)
    expect(history.first).to_contain_text("Morgan Manager")
    expect(history.first).to_contain_text("E-mailed about the three missed workshops")
    assert seen.errors == []


def test_without_a_sign_in_the_programme_page_points_to_the_sign_in_page(browser: Any, live: LiveServer) -> None:
    context = browser.new_context(base_url=live.url)
    page = context.new_page()
    page.goto("/programme.html?id=1")
    expect(page.locator("#banner")).to_contain_text("Sign in first")
    context.close()
