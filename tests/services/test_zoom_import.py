"""Zoom participant reports through the API: both header styles, review of doubtful matches, malformed files.

The fixtures' session is 09:00-10:00 London on Wednesday 10 June 2026 (08:00-09:00 UTC).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from checkin.clock import DrivenClock
from checkin.context import AppContext
from checkin.domain.model import Role
from checkin.storage.database import Tx
from checkin.storage.tables import mark_history, marks, notices
from tests import factories
from tests.conftest import make_user, sign_in

FIXTURES = Path(__file__).resolve().parent.parent / "domain" / "fixtures"
START = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)
AFTER = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)


@dataclass
class Room:
    session_id: int
    ids: dict[str, int]
    headers: dict[str, str]


@pytest.fixture
async def room(ctx: AppContext, client: httpx.AsyncClient, clock: DrivenClock) -> Room:
    clock.now = AFTER  # before signing in, so the sign-in is still fresh at the import
    await make_user(ctx, "morgan.manager@example.org", Role.PROGRAMME_MANAGER, "Morgan Manager")
    headers = await sign_in(client, "morgan.manager@example.org")
    programme_id = await factories.programme(ctx, name="Leadership workshops", code_set="plain", preset="")
    ids = {
        "priya": await factories.person(ctx, "Priya", "Okafor"),
        "tomasz": await factories.person(ctx, "Tomasz", "Byrne", email="tomasz.b@example.org"),
        "john": await factories.person(ctx, "John", "Whitfield", email=""),
        "alessia": await factories.person(ctx, "Alessia", "Marchetti", email="alessia.m@example.org"),
        "sian": await factories.person(ctx, "Siân", "Llewelyn Ward", email=""),
    }
    session_id = await factories.session(ctx, programme_id, START, kind="workshop", mode="remote",
                                         title="Online workshop 3", person_ids=tuple(ids.values()))
    return Room(session_id, ids, headers)


async def upload(client: httpx.AsyncClient, room: Room, name: str, **query: str) -> httpx.Response:
    return await client.post(f"/api/sessions/{room.session_id}/zoom-report", params=query,
                             content=(FIXTURES / name).read_bytes(),
                             headers={**room.headers, "content-type": "text/csv"})


async def confirm(client: httpx.AsyncClient, room: Room, name: str, choices: list[dict[str, Any]]) -> httpx.Response:
    return await client.post(f"/api/sessions/{room.session_id}/zoom-report/confirm", headers=room.headers,
                             json={"report": (FIXTURES / name).read_text(encoding="utf-8-sig"), "choices": choices})


async def current(ctx: AppContext, room: Room) -> dict[str, Any]:
    async with ctx.db.read() as conn:
        found = (await conn.execute(sa.select(marks).where(marks.c.session_id == room.session_id))).all()
    names = {v: k for k, v in room.ids.items()}
    return {names[m.person_id]: m for m in found}


def attendee(preview: dict[str, Any], name: str) -> dict[str, Any]:
    return next(a for a in preview["attendees"] if a["name"] == name)


# Meeting style: the meeting block on top, "Name (Original Name)", US times.

async def test_a_meeting_style_preview_shows_each_match_with_its_confidence(client: httpx.AsyncClient,
                                                                             room: Room) -> None:
    r = await upload(client, room, "zoom_meeting_style.csv", preview="true")
    assert r.status_code == 200, r.text
    preview = r.json()
    assert preview["meeting"]["topic"] == "Year 10 Maths, remote group"
    found = {a["name"]: (a["confidence"], a["person_id"]) for a in preview["attendees"]}
    assert found == {"Fenwick Tutor": ("none", None), "Priya Okafor": ("email", room.ids["priya"]),
                     "Tom B": ("name", room.ids["tomasz"]), "Zed Quill": ("none", None),
                     "Jon Whitfeld": ("doubtful", room.ids["john"])}
    assert preview["needs_review"] == [attendee(preview, "Jon Whitfeld")["attendee"]]
    assert attendee(preview, "Tom B")["proposed"]["status"] == "late"


async def test_a_meeting_style_import_with_a_doubtful_match_waits_for_review(ctx: AppContext,
                                                                              client: httpx.AsyncClient,
                                                                              room: Room) -> None:
    r = await upload(client, room, "zoom_meeting_style.csv")
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "review_required"
    assert await current(ctx, room) == {}


async def test_a_meeting_style_report_imports_once_the_doubtful_match_is_confirmed(ctx: AppContext,
                                                                                    client: httpx.AsyncClient,
                                                                                    room: Room) -> None:
    preview = (await upload(client, room, "zoom_meeting_style.csv", preview="true")).json()
    jon = attendee(preview, "Jon Whitfeld")["attendee"]
    r = await confirm(client, room, "zoom_meeting_style.csv", [{"attendee": jon, "person_id": room.ids["john"]}])
    assert r.status_code == 200, r.text
    found = await current(ctx, room)
    assert {k: (m.status, m.minutes_late, m.source) for k, m in found.items()} == {
        "priya": ("present", 0, "import"), "tomasz": ("late", 7, "import"), "john": ("late", 1, "import"),
        "alessia": ("absent_unauthorised", 0, "import"), "sian": ("absent_unauthorised", 0, "import")}
    assert sorted(u["name"] for u in r.json()["unmatched"]) == ["Fenwick Tutor", "Zed Quill"]


async def test_a_participant_who_dropped_and_rejoined_is_present_from_their_first_join(ctx: AppContext,
                                                                                        client: httpx.AsyncClient,
                                                                                        room: Room) -> None:
    preview = (await upload(client, room, "zoom_meeting_style.csv", preview="true")).json()
    priya = attendee(preview, "Priya Okafor")
    assert [s["join"] for s in priya["segments"]] == ["2026-06-10T07:58:00+00:00", "2026-06-10T08:23:00+00:00"]
    jon = attendee(preview, "Jon Whitfeld")["attendee"]
    await confirm(client, room, "zoom_meeting_style.csv", [{"attendee": jon, "person_id": None}])
    mark = (await current(ctx, room))["priya"]
    assert (mark.status, mark.arrived_at, mark.note) == ("present", datetime(2026, 6, 10, 7, 58, tzinfo=UTC),
                                                         "In Zoom from 08:58 to 10:00.")


async def test_a_guest_who_matches_nobody_is_reported_and_not_marked(ctx: AppContext, client: httpx.AsyncClient,
                                                                      room: Room) -> None:
    preview = (await upload(client, room, "zoom_meeting_style.csv", preview="true")).json()
    zed = attendee(preview, "Zed Quill")
    assert (zed["guest"], zed["confidence"], zed["proposed"]) == (True, "none", None)
    jon = attendee(preview, "Jon Whitfeld")["attendee"]
    r = await confirm(client, room, "zoom_meeting_style.csv", [{"attendee": jon, "person_id": room.ids["john"]}])
    assert "Zed Quill" in [u["name"] for u in r.json()["unmatched"]]
    assert len(await current(ctx, room)) == 5


# Participant style: "Participant Name", ISO times, the waiting room.

async def test_a_participant_style_report_imports_with_a_first_initial_confirmed(ctx: AppContext,
                                                                                  client: httpx.AsyncClient,
                                                                                  room: Room) -> None:
    preview = (await upload(client, room, "zoom_participant_style.csv", preview="true")).json()
    marchetti = attendee(preview, "A Marchetti")
    assert (marchetti["confidence"], marchetti["person_id"]) == ("doubtful", room.ids["alessia"])
    r = await confirm(client, room, "zoom_participant_style.csv",
                      [{"attendee": marchetti["attendee"], "person_id": room.ids["alessia"]}])
    assert r.status_code == 200, r.text
    found = await current(ctx, room)
    assert {k: m.status for k, m in found.items()} == {
        "priya": "present", "sian": "present", "alessia": "absent_unauthorised",
        "tomasz": "absent_unauthorised", "john": "absent_unauthorised"}
    assert "under the 75% of the session" in found["alessia"].note
    assert [u["name"] for u in r.json()["unmatched"]] == ["Kitchen iPad"]


async def test_the_waiting_room_does_not_count_as_attendance(client: httpx.AsyncClient, room: Room) -> None:
    preview = (await upload(client, room, "zoom_participant_style.csv", preview="true")).json()
    priya = attendee(preview, "Priya Okafor")
    assert priya["segments"][0]["join"] == "2026-06-10T07:58:00+00:00"
    assert priya["proposed"]["status"] == "present"


async def test_a_person_absent_from_the_report_with_an_accepted_notice_is_authorised(ctx: AppContext,
                                                                                      client: httpx.AsyncClient,
                                                                                      room: Room) -> None:
    async def given(tx: Tx) -> None:
        await tx.conn.execute(sa.insert(notices).values(
            session_id=room.session_id, person_id=room.ids["tomasz"], kind="absence", reason="Illness",
            accepted=True, given_by="Tomasz", received_at=START, after_start=False))

    await ctx.db.write(given)
    preview = (await upload(client, room, "zoom_participant_style.csv", preview="true")).json()
    await confirm(client, room, "zoom_participant_style.csv",
                  [{"attendee": attendee(preview, "A Marchetti")["attendee"], "person_id": None}])
    assert (await current(ctx, room))["tomasz"].status == "absent_authorised"


# Refusals

async def test_a_malformed_row_is_reported_and_nothing_is_written(ctx: AppContext, client: httpx.AsyncClient,
                                                                   room: Room) -> None:
    r = await upload(client, room, "zoom_malformed.csv")
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "import_invalid"
    assert [(p["row"], p["code"]) for p in error["problems"]] == [
        (4, "invalid_time"), (5, "leave_before_join"), (6, "required")]
    async with ctx.db.read() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(mark_history))).scalar() == 0


async def test_a_malformed_report_is_refused_in_preview_too(client: httpx.AsyncClient, room: Room) -> None:
    r = await upload(client, room, "zoom_malformed.csv", preview="true")
    assert (r.status_code, r.json()["error"]["code"]) == (422, "import_invalid")


async def test_importing_the_same_report_twice_changes_nothing(ctx: AppContext, client: httpx.AsyncClient,
                                                                room: Room) -> None:
    preview = (await upload(client, room, "zoom_participant_style.csv", preview="true")).json()
    choice = [{"attendee": attendee(preview, "A Marchetti")["attendee"], "person_id": room.ids["alessia"]}]
    await confirm(client, room, "zoom_participant_style.csv", choice)
    again = (await confirm(client, room, "zoom_participant_style.csv", choice)).json()
    assert all(m["duplicate"] for m in again["marked"])
    async with ctx.db.read() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(mark_history))).scalar() == 5


async def test_a_report_cannot_be_imported_before_the_session_ends(client: httpx.AsyncClient, room: Room,
                                                                    clock: DrivenClock) -> None:
    clock.now = START
    r = await confirm(client, room, "zoom_participant_style.csv", [{"attendee": 2, "person_id": None}])
    assert (r.status_code, r.json()["error"]["code"]) == (409, "session_not_ended")


async def test_choosing_someone_not_on_the_roster_is_refused(ctx: AppContext, client: httpx.AsyncClient,
                                                             room: Room) -> None:
    stranger = await factories.person(ctx, "Zed", "Quill")
    r = await confirm(client, room, "zoom_participant_style.csv", [{"attendee": 2, "person_id": stranger}])
    assert r.status_code == 422
    assert r.json()["error"]["problems"][0]["code"] == "not_on_roster"


async def test_a_tutor_cannot_import_for_a_session_they_do_not_teach(ctx: AppContext, client: httpx.AsyncClient,
                                                                      room: Room) -> None:
    await make_user(ctx, "tess.tutor@example.org", Role.TUTOR)
    headers = await sign_in(client, "tess.tutor@example.org")
    r = await client.post(f"/api/sessions/{room.session_id}/zoom-report", params={"preview": "true"},
                          content=(FIXTURES / "zoom_participant_style.csv").read_bytes(),
                          headers={**headers, "content-type": "text/csv"})
    assert (r.status_code, r.json()["error"]["code"]) == (403, "not_your_session")


async def test_a_report_sent_as_json_instead_of_csv_is_refused(client: httpx.AsyncClient, room: Room) -> None:
    r = await client.post(f"/api/sessions/{room.session_id}/zoom-report", json={"a": 1}, headers=room.headers)
    assert r.status_code == 415
