"""The scan use case: codes, the rules, idempotency, failed attempts, check-out and the shared-phone flag."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from checkin.context import AppContext
from checkin.domain.model import MarkSource
from checkin.services import checkin
from checkin.services.checkin import CheckinRefused, Scanner
from checkin.services.scan_codes import SessionFacts, display_code, load_session, poster_code
from checkin.storage.database import Tx
from checkin.storage.tables import checkin_attempts, events, mark_history, marks, sessions
from tests import factories
from tests.conftest import both_backends

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # GMT, so local 09:00
PHONE = Scanner("phone-ava-0000000001", "192.0.2.10")


@dataclass
class Room:
    ctx: AppContext
    session_id: int
    ava: int
    ben: int
    outsider: int
    other_session_id: int


async def make_room(ctx: AppContext, *, grace: int = 0, minutes: int = 60, kind: str = "workshop",
                    starts_at: datetime = START) -> Room:
    programme_id = await factories.programme(ctx, name="Leaders", code_set="plain", preset="",
                                             grace_minutes=grace, qr_rotation_seconds=15)
    ava = await factories.person(ctx, "Ava", "Example")
    ben = await factories.person(ctx, "Ben", "Sample")
    outsider = await factories.person(ctx, "Cal", "Elsewhere")
    session_id = await factories.session(ctx, programme_id, starts_at, minutes, person_ids=(ava, ben),
                                         title="Leading change", kind=kind)
    other = await factories.session(ctx, programme_id, starts_at, minutes, person_ids=(outsider,), title="Other room")
    return Room(ctx, session_id, ava, ben, outsider, other)


@pytest.fixture
async def room(ctx: AppContext) -> Room:
    return await make_room(ctx)


async def facts_of(room: Room, session_id: int | None = None) -> SessionFacts:
    async with room.ctx.db.read() as conn:
        found = await load_session(conn, session_id or room.session_id, "Europe/London")
    assert found is not None
    return found


async def code_at(room: Room, at: datetime, session_id: int | None = None) -> str:
    return display_code(room.ctx, await facts_of(room, session_id), at).token


def as_person(person_id: int, device: str = PHONE.device_id, org_id: int = 1) -> Scanner:
    return Scanner(device, PHONE.ip, person_id, org_id)


async def scan(room: Room, at: datetime, who: Scanner, token: str | None = None,
               direction: str = "in") -> checkin.ScanResult:
    code = token if token is not None else await code_at(room, at)
    return await checkin.scan(room.ctx, room.session_id, code, direction, who, at)  # type: ignore[arg-type]


async def refusal(room: Room, at: datetime, who: Scanner, token: str | None = None,
                  direction: str = "in") -> CheckinRefused:
    with pytest.raises(CheckinRefused) as caught:
        await scan(room, at, who, token, direction)
    return caught.value


async def rows(ctx: AppContext, table: sa.Table) -> list[sa.Row[Any]]:
    async with ctx.db.read() as conn:
        return list((await conn.execute(sa.select(table).order_by(*table.primary_key.columns))).all())


async def test_a_current_code_from_a_remembered_phone_checks_the_person_in_as_present(room: Room) -> None:
    at = START - timedelta(minutes=3)
    result = await scan(room, at, as_person(room.ava))
    assert (result.outcome.value, result.message, result.first_name) == ("checked_in", "Checked in at 08:57", "Ava")
    (mark,) = await rows(room.ctx, marks)
    assert (mark.person_id, mark.status, mark.source, mark.device, mark.arrived_at) == (
        room.ava, "present", "qr", PHONE.device_id, at)


async def test_an_arrival_after_start_plus_grace_is_late_by_the_minutes_since_the_start(ctx: AppContext) -> None:
    room = await make_room(ctx, grace=5)
    result = await scan(room, START + timedelta(minutes=7, seconds=40), as_person(room.ava))
    assert (result.outcome.value, result.minutes_late) == ("late", 7)
    assert result.message == "Late by 7 minutes — checked in at 09:07"
    (mark,) = await rows(ctx, marks)
    assert (mark.status, mark.minutes_late) == ("late", 7)


async def test_an_arrival_within_the_grace_is_on_time(ctx: AppContext) -> None:
    room = await make_room(ctx, grace=5)
    result = await scan(room, START + timedelta(minutes=5, seconds=59), as_person(room.ava))
    assert result.outcome.value == "checked_in"


@both_backends
async def test_a_second_scan_says_when_the_first_was_and_records_nothing_more(room: Room) -> None:
    first = START - timedelta(minutes=5)
    await scan(room, first, as_person(room.ava))
    again = await scan(room, first + timedelta(minutes=9), as_person(room.ava))
    assert (again.outcome.value, again.first_at, again.message) == (
        "already_checked_in", first, "Already checked in at 08:55")
    assert len(await rows(room.ctx, mark_history)) == 1


async def test_an_expired_code_is_refused_and_stored_as_a_failed_attempt_without_a_person(room: Room) -> None:
    shown = START - timedelta(minutes=10)
    refused = await refusal(room, shown + timedelta(seconds=40), as_person(room.ava), await code_at(room, shown))
    assert (refused.code, refused.status) == ("token_expired", 403)
    assert refused.message == "This code has expired — scan the screen again"
    (attempt,) = await rows(room.ctx, checkin_attempts)
    assert (attempt.session_id, attempt.person_id, attempt.outcome, attempt.device, attempt.ip) == (
        room.session_id, None, "token_expired", PHONE.device_id, PHONE.ip)
    assert await rows(room.ctx, marks) == []


async def test_a_code_read_just_after_it_rotated_is_still_accepted_within_the_grace(room: Room) -> None:
    shown = START - timedelta(minutes=10)
    facts = await facts_of(room)
    code = display_code(room.ctx, facts, shown)
    result = await scan(room, code.valid_until + timedelta(seconds=9), as_person(room.ava), code.token)
    assert result.outcome.value == "checked_in"


async def test_a_code_with_one_character_changed_is_refused_as_forged(room: Room) -> None:
    at = START - timedelta(minutes=10)
    token = await code_at(room, at)
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[-1] ^= 0x01
    tampered = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    refused = await refusal(room, at, as_person(room.ava), tampered)
    assert refused.code == "token_forged"
    assert [a.outcome for a in await rows(room.ctx, checkin_attempts)] == ["token_forged"]


async def test_a_made_up_code_is_refused_as_malformed(room: Room) -> None:
    refused = await refusal(room, START, as_person(room.ava), "not-a-real-code")
    assert refused.code == "token_malformed"


async def test_a_code_shown_for_another_session_is_refused(room: Room) -> None:
    at = START - timedelta(minutes=10)
    elsewhere = await code_at(room, at, room.other_session_id)
    refused = await refusal(room, at, as_person(room.ava), elsewhere)
    assert refused.code == "token_wrong_session"
    assert await rows(room.ctx, marks) == []


async def test_a_scan_before_checkin_opens_is_refused_with_the_opening_time(room: Room) -> None:
    at = START - timedelta(minutes=61)
    refused = await refusal(room, at, as_person(room.ava))
    assert (refused.code, refused.status, refused.message) == ("checkin_not_open", 409, "Check-in opens at 08:00")
    assert refused.details["opens_at"] == (START - timedelta(hours=1)).isoformat()
    (attempt,) = await rows(room.ctx, checkin_attempts)
    assert (attempt.outcome, attempt.person_id) == ("checkin_not_open", room.ava)


async def test_a_scan_after_the_session_ended_is_refused(room: Room) -> None:
    refused = await refusal(room, START + timedelta(minutes=61), as_person(room.ava))
    assert refused.code == "checkin_closed"
    assert await rows(room.ctx, marks) == []


async def test_a_cancelled_session_refuses_check_in(ctx: AppContext) -> None:
    room = await make_room(ctx)
    async def cancel(tx: Tx) -> None:
        await tx.conn.execute(sa.update(sessions).where(sessions.c.id == room.session_id).values(status="cancelled"))

    await ctx.db.write(cancel)
    assert (await refusal(room, START, as_person(room.ava))).code == "session_cancelled"


async def test_a_phone_remembered_as_someone_not_on_the_roster_is_told_so_with_a_ticket(room: Room) -> None:
    refused = await refusal(room, START, as_person(room.outsider))
    assert (refused.code, refused.status) == ("not_on_roster", 403)
    assert refused.message == "You are not on the list for this session — please see the team"
    assert refused.details["ticket"]
    (attempt,) = await rows(room.ctx, checkin_attempts)
    assert attempt.outcome == "not_on_roster"


async def test_a_new_phone_is_asked_to_identify_with_a_ticket_and_nothing_recorded(room: Room) -> None:
    refused = await refusal(room, START, Scanner("new-phone-000000000001", "192.0.2.11"))
    assert (refused.code, refused.status) == ("identify_needed", 401)
    assert set(refused.details) == {"ticket"}
    assert await rows(room.ctx, checkin_attempts) == []


async def test_a_phone_remembered_in_another_organisation_must_identify(room: Room) -> None:
    refused = await refusal(room, START, as_person(room.ava, org_id=999))
    assert refused.code == "identify_needed"


async def test_a_check_in_appears_on_the_session_channel_as_a_checkin_event(room: Room) -> None:
    sub = room.ctx.hub.subscribe(f"session:{room.session_id}")
    result = await scan(room, START, as_person(room.ava))
    event = sub.queue.get_nowait()
    assert event is not None
    assert (event["type"], event["seq"], event["data"]["person_id"]) == ("checkin", result.seq, room.ava)
    assert event["data"]["mark"]["source"] == "qr"


async def test_checking_out_early_at_a_residential_records_the_departure(ctx: AppContext) -> None:
    room = await make_room(ctx, kind="residential", minutes=8 * 60)
    await scan(room, START - timedelta(minutes=5), as_person(room.ava))
    leaving = START + timedelta(hours=6)
    result = await scan(room, leaving, as_person(room.ava), direction="out")
    assert result.outcome.value == "checked_out"
    assert result.message == "Checked out at 15:00, 120 minutes before the end"
    (mark,) = await rows(ctx, marks)
    assert (mark.status, mark.departed_at, mark.arrived_at) == ("left_early", leaving, START - timedelta(minutes=5))


async def test_checking_out_twice_says_when_the_first_was(ctx: AppContext) -> None:
    room = await make_room(ctx, kind="residential", minutes=8 * 60)
    await scan(room, START, as_person(room.ava))
    leaving = START + timedelta(hours=6)
    await scan(room, leaving, as_person(room.ava), direction="out")
    again = await scan(room, leaving + timedelta(minutes=2), as_person(room.ava), direction="out")
    assert (again.outcome.value, again.first_at) == ("already_checked_out", leaving)
    assert len(await rows(ctx, mark_history)) == 2


async def test_checking_out_without_having_checked_in_is_refused(ctx: AppContext) -> None:
    room = await make_room(ctx, kind="residential", minutes=8 * 60)
    refused = await refusal(room, START + timedelta(hours=2), as_person(room.ava), direction="out")
    assert refused.code == "not_checked_in"


async def test_checking_out_at_the_end_keeps_the_mark_and_logs_the_departure(ctx: AppContext) -> None:
    room = await make_room(ctx, kind="residential", minutes=8 * 60)
    await scan(room, START, as_person(room.ava))
    result = await scan(room, START + timedelta(hours=8), as_person(room.ava), direction="out")
    assert result.message == "Checked out at 17:00"
    (mark,) = await rows(ctx, marks)
    assert mark.status == "present"
    assert [a.outcome for a in await rows(ctx, checkin_attempts)] == ["checked_out"]


async def test_a_phone_that_checks_in_a_second_person_is_flagged_to_the_tutor(room: Room) -> None:
    sub = room.ctx.hub.subscribe(f"session:{room.session_id}")
    first = await scan(room, START - timedelta(minutes=4), as_person(room.ava))
    second = await scan(room, START - timedelta(minutes=2), as_person(room.ben))
    assert (first.flagged, second.flagged) == (False, True)
    types = [e["type"] for e in [sub.queue.get_nowait() for _ in range(sub.queue.qsize())] if e]
    assert types == ["checkin", "checkin", "flag"]
    async with room.ctx.db.read() as conn:
        flag = (await conn.execute(sa.select(events.c.payload).where(events.c.type == "flag"))).scalar_one()
    assert (flag["kind"], flag["person_id"], flag["other_person_ids"]) == ("shared_device", room.ben, [room.ava])
    assert len(await rows(room.ctx, marks)) == 2  # flagged, not silently dropped


async def test_two_people_on_their_own_phones_are_not_flagged(room: Room) -> None:
    await scan(room, START, as_person(room.ava, "phone-ava-0000000001"))
    result = await scan(room, START, as_person(room.ben, "phone-ben-0000000002"))
    assert result.flagged is False


async def test_one_phone_used_again_after_the_sharing_window_is_not_flagged(room: Room) -> None:
    await scan(room, START - timedelta(minutes=50), as_person(room.ava))
    result = await scan(room, START + timedelta(minutes=-35), as_person(room.ben))
    assert result.flagged is False


async def test_yesterdays_code_at_a_multi_day_residential_is_refused_as_the_wrong_day(ctx: AppContext) -> None:
    room = await make_room(ctx, kind="residential", minutes=3 * 24 * 60)
    yesterday = START + timedelta(days=1)
    today = yesterday + timedelta(days=1)
    stale = await code_at(room, yesterday)
    refused = await refusal(room, today, as_person(room.ava), stale)
    assert refused.code == "token_wrong_day"


async def test_a_badge_check_in_is_not_counted_as_a_shared_phone(room: Room) -> None:
    facts = await facts_of(room)
    tablet = Scanner("badge:7", "192.0.2.20")
    await checkin.check_in(room.ctx, facts, room.ava, "in", tablet, START, source=MarkSource.BADGE)
    result = await checkin.check_in(room.ctx, facts, room.ben, "in", tablet, START, source=MarkSource.BADGE)
    assert result.flagged is False


async def test_a_poster_for_the_middle_day_of_a_residential_is_valid_from_midnight_to_midnight(
        ctx: AppContext) -> None:
    room = await make_room(ctx, kind="residential", minutes=3 * 24 * 60)
    code = poster_code(ctx, await facts_of(room), START.date() + timedelta(days=1))
    assert (code.valid_from, code.valid_until) == (datetime(2026, 3, 3, 0, 0, tzinfo=UTC),
                                                   datetime(2026, 3, 4, 0, 0, tzinfo=UTC))
    assert code.url.startswith(f"http://testserver/checkin.html#s={room.session_id}&t=")


async def test_a_poster_code_for_today_is_refused_on_another_day_of_the_residential(ctx: AppContext) -> None:
    room = await make_room(ctx, kind="residential", minutes=3 * 24 * 60)
    first_day = poster_code(ctx, await facts_of(room), START.date()).token
    refused = await refusal(room, START + timedelta(days=1, hours=1), as_person(room.ava), first_day)
    assert refused.code == "token_wrong_day"
