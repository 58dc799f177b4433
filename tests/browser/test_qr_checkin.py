"""QR self check-in end to end in Chromium: the projector's code decoded from pixels, a phone, the tutor's register."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import zxingcpp
from PIL import Image
from playwright.sync_api import Page, expect

import tests.conftest
from checkin.context import AppContext
from checkin.domain.model import Role
from checkin.domain.tokens import PURPOSE_BADGE, PURPOSE_PERSONAL, badge_code, derive_key, personal_code
from checkin.settings import Settings
from checkin.storage.tables import mark_history, marks
from tests import factories
from tests.browser.conftest import sign_in_page
from tests.conftest import PASSWORD, LiveServer, free_port, make_user

pytestmark = pytest.mark.browser
TUTOR = "tamsin.tutor@example.org"


@pytest.fixture
def qr_live(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveServer]:
    """The app on a free port whose public base URL is that port, so a decoded code opens this server."""
    port = free_port()
    settings = Settings.from_env({}, data_dir=tmp_path / "qr", secret_key="qr-secret-" + "z" * 40,
                                 public_base_url=f"http://127.0.0.1:{port}")
    monkeypatch.setattr(tests.conftest, "free_port", lambda: port)
    with LiveServer(settings) as server:
        yield server


@dataclass
class Room:
    live: LiveServer
    session_id: int
    ottoline: int
    peregrine: int

    @property
    def ctx(self) -> AppContext:
        return self.live.app.state.ctx

    def history(self) -> list[Any]:
        async def read() -> list[Any]:
            async with self.ctx.db.read() as conn:
                return list((await conn.execute(sa.select(mark_history))).all())

        return self.live.run(read())

    def current(self) -> dict[int, Any]:
        async def read() -> dict[int, Any]:
            async with self.ctx.db.read() as conn:
                return {r.person_id: r for r in (await conn.execute(sa.select(marks))).all()}

        return self.live.run(read())


@pytest.fixture
def room(qr_live: LiveServer) -> Room:
    ctx: AppContext = qr_live.app.state.ctx

    async def build() -> Room:
        tutor = await make_user(ctx, TUTOR, Role.TUTOR, "Tamsin Tutor")
        # a long rotation keeps one decoded code valid for the whole test on a slow machine
        programme_id = await factories.programme(ctx, name="Leaders", code_set="plain", preset="",
                                                 qr_rotation_seconds=120, grace_minutes=15)
        ottoline = await factories.person(ctx, "Ottoline", "Brackwater")
        peregrine = await factories.person(ctx, "Peregrine", "Ashdown")
        now = datetime.now(UTC)
        start = now + timedelta(minutes=20)
        zone = ZoneInfo(ctx.settings.timezone)
        if start.astimezone(zone).date() != now.astimezone(zone).date():
            # a poster is for the session's own day, not valid before its midnight: start it now instead
            start = now - timedelta(minutes=1)
        session_id = await factories.session(ctx, programme_id, start, title="Leading change", tutor_ids=(tutor,),
                                             person_ids=(ottoline, peregrine), location="Room 4")
        return Room(qr_live, session_id, ottoline, peregrine)

    return qr_live.run(build())


def decode(png: bytes) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def open_display(browser: Any, room: Room) -> Page:
    page: Page = sign_in_page(browser, room.live, TUTOR, PASSWORD).new_page()
    page.goto(f"/display.html?session={room.session_id}")
    expect(page.locator("#title")).to_have_text("Leading change")
    expect(page.locator("#qr")).to_have_attribute("src", re.compile(r"^data:image/svg\+xml"))
    return page


def shown_url(display: Page) -> str:
    qr = display.locator("#qr")
    expect(qr).to_be_visible()
    display.wait_for_function("() => document.getElementById('qr').complete")
    (url,) = decode(qr.screenshot())
    return url


def open_register(browser: Any, room: Room) -> Page:
    page: Page = sign_in_page(browser, room.live, TUTOR, PASSWORD).new_page()
    page.goto(f"/register.html#session/{room.session_id}")
    expect(page.locator("body")).to_have_attribute("data-ready", "register")
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    return page


def test_a_participant_scans_the_projected_code_and_the_tutor_sees_them_arrive_within_a_second(
        browser: Any, room: Room) -> None:
    display = open_display(browser, room)
    url = shown_url(display)
    assert url.startswith(f"{room.live.url}/checkin.html#s={room.session_id}&t=")
    expect(display.locator("#count")).to_have_text("0 of 2 arrived")

    register = open_register(browser, room)
    row = register.locator(f'li.person[data-person-id="{room.ottoline}"]')
    expect(row).to_have_attribute("data-status", "unmarked")

    phone = browser.new_context(base_url=room.live.url).new_page()
    phone.goto(url)
    expect(phone.locator("#identify")).to_be_visible()
    assert "#" not in phone.url  # the code is gone from the address bar
    phone.fill("#email", "ottoline.brackwater@example.org")
    clicked = time.monotonic()
    phone.click("#identify-submit")
    expect(row).to_have_attribute("data-status", "present", timeout=1000)
    assert time.monotonic() - clicked < 1.0
    expect(phone.locator("#result-title")).to_have_text(re.compile(r"^Checked in at \d\d:\d\d$"))
    expect(phone.locator("#result-detail")).to_have_text("Leading change · Ottoline")
    expect(display.locator("#count")).to_have_text("1 of 2 arrived", timeout=5000)

    (history,) = room.history()
    assert (history.person_id, history.source, history.status) == (room.ottoline, "qr", "present")

    # the phone is remembered: the next scan is one step, and idempotent
    phone.goto(shown_url(display))
    expect(phone.locator("#result-title")).to_have_text(re.compile(r"^Already checked in at \d\d:\d\d$"))
    assert len(room.history()) == 1


def test_a_stranger_with_an_old_link_learns_nothing_and_is_told_to_scan_again(browser: Any, room: Room) -> None:
    display = open_display(browser, room)
    url = shown_url(display)
    token = url.split("&t=", 1)[1]
    tampered = url.replace(token, token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB"))
    phone = browser.new_context(base_url=room.live.url).new_page()
    phone.goto(tampered)
    expect(phone.locator("#result-box")).to_have_attribute("data-tone", "bad")
    expect(phone.locator("#result-title")).to_have_text("This code is not recognised — scan the screen again")
    text = phone.locator("body").inner_text()
    assert "Ottoline" not in text and "Peregrine" not in text and "Leading change" not in text


def test_a_personal_badge_qr_decodes_to_its_code_and_a_typed_code_checks_the_holder_in(browser: Any,
                                                                                       room: Room) -> None:
    register = open_register(browser, room)
    badge = register.evaluate(f"fetch('/api/people/{room.peregrine}/badge').then(r => r.json())")
    assert badge["code"] == badge_code(derive_key(room.ctx.secret, PURPOSE_BADGE), room.peregrine)
    printed = browser.new_page()
    printed.set_content(f'<img id="badge" src="{badge["image"]}" width="320" height="320">')
    assert decode(printed.locator("#badge").screenshot()) == [badge["code"]]

    # the register page imports badge-scan.js; headless Chromium on Linux has no BarcodeDetector, so it types
    mode = register.evaluate(f"""async () => {{
        const {{ openBadgeScanner, checkInBadge }} = await import('/js/badge-scan.js');
        const box = document.createElement('div');
        box.id = 'badge-box';
        document.body.append(box);
        const scanner = await openBadgeScanner(box, (code) => checkInBadge({room.session_id}, code));
        return scanner.mode;
    }}""")
    assert mode == "text"
    register.fill("#badge-box input[name=badge]", badge["code"].lower())
    register.press("#badge-box input[name=badge]", "Enter")
    expect(register.locator("#badge-box .badge-scan-status")).to_have_text(
        re.compile(r"^Peregrine Ashdown: Checked in at \d\d:\d\d$"))
    expect(register.locator(f'li.person[data-person-id="{room.peregrine}"]')).to_have_attribute(
        "data-status", "present")
    assert room.current()[room.peregrine].source == "badge"


def test_the_badge_scanner_reads_badges_from_the_camera_where_barcode_detection_exists(browser: Any,
                                                                                      room: Room) -> None:
    register = open_register(browser, room)
    code = badge_code(derive_key(room.ctx.secret, PURPOSE_BADGE), room.ottoline)
    # the platform's detector and camera are the process boundary: a canvas stream and a detector that reads it
    mode = register.evaluate(f"""async () => {{
        window.BarcodeDetector = class {{
            static async getSupportedFormats() {{ return ['qr_code']; }}
            async detect() {{ window.frames_read = (window.frames_read || 0) + 1; return [{{ rawValue: '{code}' }}]; }}
        }};
        const canvas = document.createElement('canvas');
        canvas.width = 64; canvas.height = 64;
        const paint = () => {{ canvas.getContext('2d').fillRect(0, 0, 64, 64); }};
        paint(); setInterval(paint, 50);
        navigator.mediaDevices.getUserMedia = async () => canvas.captureStream(10);
        const {{ openBadgeScanner, checkInBadge }} = await import('/js/badge-scan.js');
        const box = document.createElement('div');
        box.id = 'badge-box';
        document.body.append(box);
        window.scans = [];
        const scanner = await openBadgeScanner(box, (c) => {{
            window.scans.push(c);
            return checkInBadge({room.session_id}, c);
        }});
        return scanner.mode;
    }}""")
    assert mode == "camera"
    expect(register.locator("#badge-box .badge-scan-status")).to_have_text(
        re.compile(r"^Ottoline Brackwater: Checked in at \d\d:\d\d$"))
    expect(register.locator(f'li.person[data-person-id="{room.ottoline}"]')).to_have_attribute(
        "data-status", "present")
    seen = register.evaluate("window.frames_read")
    register.wait_for_function("(n) => window.frames_read >= n", arg=seen + 3)  # the same badge still in view
    assert register.evaluate("window.scans.length") == 1


def test_the_printed_poster_states_its_validity_and_its_code_checks_a_participant_in(browser: Any,
                                                                                    room: Room) -> None:
    poster = sign_in_page(browser, room.live, TUTOR, PASSWORD).new_page()
    poster.goto(f"/poster.html?session={room.session_id}")
    expect(poster.locator("#title")).to_have_text("Leading change")
    expect(poster.locator("#validity")).to_have_text(
        re.compile(r"^Valid on \w+day \d{1,2} \w+ \d{4} from \d\d:\d\d to (\d\d:\d\d|midnight) only$"))
    poster.wait_for_function("() => document.getElementById('qr').complete")
    (url,) = decode(poster.locator("#qr").screenshot())
    assert url.startswith(f"{room.live.url}/checkin.html#s={room.session_id}&t=")

    phone = browser.new_context(base_url=room.live.url).new_page()
    phone.goto(url)
    phone.click("text=The personal code on my invitation")
    phone.fill("#code", personal_code(derive_key(room.ctx.secret, PURPOSE_PERSONAL), room.peregrine))
    phone.click("#identify-submit")
    expect(phone.locator("#result-title")).to_have_text(re.compile(r"^Checked in at \d\d:\d\d$"))
    assert room.current()[room.peregrine].source == "qr"


def test_the_display_page_sends_a_visitor_who_is_not_signed_in_to_sign_in(browser: Any, room: Room) -> None:
    page = browser.new_context(base_url=room.live.url).new_page()
    page.goto(f"/display.html?session={room.session_id}")
    expect(page).to_have_url(re.compile(r"/\?next=%2Fdisplay\.html%3Fsession%3D\d+$"))
    expect(page.locator("#qr")).to_have_count(0)
