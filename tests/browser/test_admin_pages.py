"""The admin pages in a real Chromium: sign in, set up an AP programme, import pupils and a roster, see the sessions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from playwright.sync_api import FilePayload, Page, expect

from checkin.context import AppContext
from checkin.domain.model import Role
from checkin.storage.tables import contacts, people, programmes, roster, sessions
from tests.conftest import PASSWORD, LiveServer, make_user

pytestmark = pytest.mark.browser
ADMIN = "ada.admin@example.org"
TUTOR = "toni.tutor@example.org"


def csv_people() -> str:
    return ("first_name,last_name,email,external_ref,ap_pupil,on_school_roll,school,programme\n"
            "Priya,Okafor,priya.okafor@example.org,P-001,yes,no,,AP Tuition\n"
            "Tomasz,Byrne,tomasz.byrne@example.org,P-002,yes,yes,Hollowmere Academy,AP Tuition\n")


def csv_contacts(first_phone: str = "07700 900101") -> str:
    return ("person_ref,kind,name,relationship,phone,email\n"
            f"P-001,emergency,Grace Okafor,mother,{first_phone},\n"
            "P-001,attendance,Children missing education team,,,cme-team@example.org\n"
            "P-002,emergency,Sam Byrne,father,07700 900102,\n"
            "P-002,attendance,Attendance officer,,,attendance@hollowmere.example.org\n")


def csv_sessions(day: str) -> str:
    return ("external_ref,programme,title,kind,mode,date,start,end,location,tutor_email\n"
            f"S-1,AP Tuition,Maths 1:1,ap_tuition,face_to_face,{day},09:00,10:00,Library room 2,{TUTOR}\n"
            f"S-2,AP Tuition,English 1:1,ap_tuition,face_to_face,{day},10:30,11:30,Library room 2,{TUTOR}\n")


CSV_ROSTERS = "session_ref,person_ref\nS-1,P-001\nS-1,P-002\nS-2,tomasz.byrne@example.org\n"


@pytest.fixture
def page(browser: Any, live: LiveServer) -> Iterator[Page]:
    ctx: AppContext = live.app.state.ctx

    async def staff() -> None:
        await make_user(ctx, ADMIN, Role.ADMIN, "Ada Admin")
        await make_user(ctx, TUTOR, Role.TUTOR, "Toni Tutor")

    live.run(staff())
    context = browser.new_context(base_url=live.url)
    tab = context.new_page()
    yield tab
    context.close()


def rows(live: LiveServer, table: sa.Table) -> list[Any]:
    async def read() -> list[Any]:
        async with live.app.state.ctx.db.read() as conn:
            return list((await conn.execute(sa.select(table))).all())

    found: list[Any] = live.run(read())
    return found


def upload(page: Page, kind: str, text: str, *, bom: bool = False) -> None:
    """Chooses the kind and the file on the imports page and checks it (nothing is written yet)."""
    page.get_by_label("What the file holds").select_option(kind)
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode()
    payload: FilePayload = {"name": f"{kind}.csv", "mimeType": "text/csv", "buffer": data}
    page.locator("#import-file").set_input_files(files=[payload])
    page.get_by_role("button", name="Check file").click()


def import_checked(page: Page, rows_expected: int) -> None:
    expect(page.locator("#import-result")).to_contain_text(f"The file is ready: {rows_expected} rows")
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#import-result")).to_contain_text(f"Imported {rows_expected} rows")


def test_an_admin_sets_up_an_ap_programme_imports_pupils_and_sees_the_sessions(page: Page, live: LiveServer):
    today = datetime.now(ZoneInfo("Europe/London")).date().isoformat()

    # Sign in through the home page, then follow its link to the admin pages.
    page.goto("/")
    page.get_by_label("E-mail").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#greeting")).to_have_text("Hello, Ada Admin")
    page.get_by_role("link", name="Admin").click()
    expect(page.get_by_role("heading", name="Sessions")).to_be_visible()

    # A programme from the AP preset, with one window edited in the rule table.
    page.get_by_role("link", name="Programmes").click()
    page.get_by_role("button", name="New programme").click()
    page.get_by_label("Name", exact=True).fill("AP Tuition")
    page.get_by_label("Preset").select_option("ap_tuition")
    expect(page.locator("#programme-form")).to_contain_text("AP-NOSHOW")
    page.get_by_label("AP-REPORT window in minutes").fill("10")
    page.get_by_role("button", name="Create programme").click()
    expect(page.locator("#banner")).to_contain_text("AP Tuition")
    expect(page.locator("#programme-table")).to_contain_text("AP tuition")

    # Imports: a broken contacts file is refused whole, with each problem by row, column and code.
    page.get_by_role("link", name="Imports").click()
    upload(page, "people", csv_people(), bom=True)
    import_checked(page, 2)
    upload(page, "contacts", csv_contacts(first_phone="call me") + "P-404,emergency,Ann Other,,07700 900103,\n")
    problems = page.locator("#import-result table.problems tbody tr")
    expect(problems).to_have_count(2)
    expect(problems.nth(0)).to_contain_text("2")
    expect(problems.nth(0)).to_contain_text("invalid_phone")
    expect(problems.nth(1)).to_contain_text("unknown_person")
    expect(page.get_by_role("button", name="Import", exact=True)).to_be_disabled()
    assert rows(live, contacts) == []
    upload(page, "contacts", csv_contacts())
    import_checked(page, 4)
    upload(page, "sessions", csv_sessions(today))
    import_checked(page, 2)
    upload(page, "rosters", CSV_ROSTERS)
    import_checked(page, 3)

    # The day's sessions, with who is expected at each.
    page.get_by_role("link", name="Sessions").click()
    table = page.locator("#session-table")
    expect(table).to_contain_text("Maths 1:1")
    expect(table.locator("tr", has_text="Maths 1:1")).to_contain_text("Toni Tutor")
    expect(table.locator("tr", has_text="Maths 1:1").locator("td").nth(4)).to_have_text("2")
    expect(table.locator("tr", has_text="English 1:1").locator("td").nth(4)).to_have_text("1")

    [programme] = rows(live, programmes)
    report = next(r for r in programme.policy["rules"] if r["id"] == "AP-REPORT")
    assert (programme.preset, programme.code_set, report["offset_minutes"]) == ("ap_tuition", "dfe_2024", 10)
    assert sorted(p.external_ref for p in rows(live, people)) == ["P-001", "P-002"]
    assert len(rows(live, contacts)) == 4
    assert {s.external_ref for s in rows(live, sessions)} == {"S-1", "S-2"}
    assert len(rows(live, roster)) == 3


def test_signing_in_with_a_wrong_password_says_so_beside_the_form(page: Page):
    page.goto("/admin.html")
    expect(page).to_have_url(re.compile(r"/\?next=%2Fadmin\.html$"))
    page.get_by_label("E-mail").fill(ADMIN)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#signin-form .form-error")).to_contain_text("do not match")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Sessions")).to_be_visible()


def test_a_field_the_server_refuses_is_named_beside_that_field(page: Page):
    page.goto("/")
    page.get_by_label("E-mail").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#greeting")).to_have_text("Hello, Ada Admin")
    page.goto("/admin.html#programmes")
    page.get_by_role("button", name="New programme").click()
    page.get_by_label("Name", exact=True).fill("AP Tuition")
    page.get_by_label("Preset").select_option("ap_tuition")
    page.get_by_label("AP-NOSHOW window in minutes").fill("-5")
    page.get_by_role("button", name="Create programme").click()
    error = page.locator("tr[data-rule='AP-NOSHOW'] td[data-field$='offset_minutes'] .field-error")
    expect(error).to_contain_text("offset_minutes cannot be -5")
    expect(page.get_by_label("AP-NOSHOW window in minutes")).to_have_attribute("aria-invalid", "true")
