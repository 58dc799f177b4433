"""Bad input never becomes a 500: property-based tests over names, tokens, dates, CSV encodings and JSON.

Each property sends generated input through the real route (in-process) or the real parser, and
checks the answer is either accepted or refused with a stable code.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checkin.context import AppContext
from checkin.domain.errors import Invalid
from checkin.services.retention import next_run
from checkin.web.fields import Choice, ClockTime, Day, Int, ListOf, Obj, Str, When
from tests import factories

ROUTE = settings(max_examples=25, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
PURE = settings(max_examples=300, deadline=None, database=None)
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=12)
NAMES = st.text(st.characters(codec="utf-8"), max_size=300) | st.sampled_from([
    "Zoë", "Siân O'Neill-Åberg", "李小龍", "محمد", "👩🏽‍🏫", "A\u0301\u0301\u0301", "\u202eevil", " ", "x" * 201,
    "Ava\x00Example", "\ud7ff", "Robert'); DROP TABLE people;--"])
SCHEMA = Obj({"name": Str(min_len=1, max_len=200), "count": Int(minimum=0, maximum=100), "at": When(required=False),
              "day": Day(required=False), "time": ClockTime(required=False),
              "ids": ListOf(item=Int(minimum=1), max_items=5, required=False),
              "choice": Choice(choices=("a", "b"), required=False)})


@PURE
@given(value=JSON)
def test_a_request_schema_either_accepts_a_json_value_or_refuses_it_with_a_code(value: Any) -> None:
    try:
        SCHEMA.parse(value, "")
    except Invalid as refused:
        assert refused.code and refused.status == 422


@PURE
@given(body=st.fixed_dictionaries({"name": NAMES, "count": st.integers(-10, 200)},
                                  optional={"at": st.text(max_size=45), "day": st.text(max_size=12),
                                            "time": st.text(max_size=9), "ids": st.lists(JSON, max_size=6)}))
def test_field_shaped_garbage_is_refused_with_a_code_never_an_exception(body: dict[str, Any]) -> None:
    try:
        SCHEMA.parse(body, "")
    except Invalid as refused:
        assert refused.code in {"invalid_field", "too_long", "required", "invalid_choice"}


@PURE
@given(moment=st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2199, 12, 30),
                           timezones=st.timezones() | st.just(UTC)))
def test_any_instant_with_any_offset_round_trips_through_when(moment: datetime) -> None:
    # compared in UTC: a wall time inside a clock change never equals another zone's (PEP 495)
    assert When().parse(moment.isoformat(), "at").astimezone(UTC) == moment.astimezone(UTC)


@PURE
@given(moment=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
       zone=st.sampled_from(["Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]))
def test_the_daily_purge_is_always_next_at_three_local_time_within_a_day(moment: datetime, zone: str) -> None:
    at = next_run(moment, ZoneInfo(zone))
    assert moment < at <= moment + timedelta(hours=25)
    assert (at.astimezone(ZoneInfo(zone)).hour, at.astimezone(ZoneInfo(zone)).minute) == (3, 0)


@ROUTE
@given(first=NAMES, last=NAMES)
async def test_any_name_is_stored_exactly_or_refused_with_a_code(as_admin: httpx.AsyncClient, first: str,
                                                                 last: str) -> None:
    response = await as_admin.post("/api/people", json={"first_name": first, "last_name": last})
    assert response.status_code in (201, 422), response.text
    if response.status_code == 422:
        assert response.json()["error"]["code"] in {"too_long", "required", "invalid_field"}
        return
    stored = (await as_admin.get(f"/api/people/{response.json()['id']}")).json()
    assert (stored["first_name"], stored["last_name"]) == (first.strip(), last.strip())


EDGES = st.sampled_from([
    datetime(2026, 3, 29, 0, 59, tzinfo=UTC), datetime(2026, 3, 29, 1, 0, tzinfo=UTC),  # London springs forward
    datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 1, 30, tzinfo=UTC),  # ...and falls back
    datetime(2028, 2, 29, 23, 59, tzinfo=UTC), datetime(2026, 12, 31, 23, 30, tzinfo=UTC),
])
OFFSETS = st.sampled_from([timezone(timedelta(hours=h, minutes=m)) for h, m in
                           ((14, 0), (-12, 0), (5, 45), (-3, -30), (0, 0), (1, 0))])


@ROUTE
@given(start=EDGES | st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1),
                                  timezones=st.just(UTC)), offset=OFFSETS, minutes=st.integers(-60, 24 * 60))
async def test_a_session_at_any_edge_of_the_calendar_is_kept_at_its_exact_instant_or_refused(
        ctx: AppContext, as_admin: httpx.AsyncClient, start: datetime, offset: timezone, minutes: int) -> None:
    programme_id = ctx.extras.get("fuzz_programme") or await factories.programme(ctx)
    ctx.extras["fuzz_programme"] = programme_id
    body = {"programme_id": programme_id, "title": "Edge of time", "kind": "workshop", "mode": "face_to_face",
            "starts_at": start.astimezone(offset).isoformat(),
            "ends_at": (start + timedelta(minutes=minutes)).astimezone(offset).isoformat()}
    response = await as_admin.post("/api/sessions", json=body)
    assert response.status_code in (201, 422), response.text
    if response.status_code == 201:
        made = response.json()
        assert datetime.fromisoformat(made["starts_at"]) == start
        assert datetime.fromisoformat(made["ends_at"]) == start + timedelta(minutes=minutes)


@ROUTE
@given(token=st.text(max_size=120) | st.binary(max_size=90).map(lambda b: b.hex()) | st.sampled_from([
    "", "v1.", "....", "A" * 100, "%00", "1.2.3.4.5", "\u0000", "ey" + "A" * 98]),
    session_id=st.integers(1, 3))
async def test_a_malformed_qr_token_is_refused_with_a_code(ctx: AppContext, client: httpx.AsyncClient, token: str,
                                                          session_id: int) -> None:
    client.cookies.clear()  # a new phone each time, so the per-device limit does not hide the token check
    response = await client.post("/api/checkin/scan", json={"session_id": session_id, "token": token})
    assert 400 <= response.status_code < 500, response.text
    assert isinstance(response.json()["error"]["code"], str)


ENCODINGS = st.sampled_from(["utf-16", "utf-16-le", "latin-1", "cp1252", "utf-32", "shift_jis", "utf-8-sig"])


@ROUTE
@given(csv=st.one_of(
    st.binary(max_size=400),
    st.tuples(st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=60), ENCODINGS).map(
        lambda te: f"first_name,last_name\n{te[0]},Example\n".encode(te[1], errors="replace")),
))
async def test_a_csv_upload_in_any_encoding_is_read_or_refused_with_a_code(as_admin: httpx.AsyncClient,
                                                                          csv: bytes) -> None:
    response = await as_admin.post("/api/imports/people?preview=true", content=csv,
                                   headers={"content-type": "text/csv"})
    assert response.status_code in (200, 400, 415, 422), response.text
    if response.status_code != 200:
        assert isinstance(response.json()["error"]["code"], str)


@ROUTE
@given(code=st.text(min_size=1, max_size=64))
async def test_a_typed_badge_code_of_any_text_is_refused_with_a_code(ctx: AppContext, as_admin: httpx.AsyncClient,
                                                                     code: str) -> None:
    programme_id = ctx.extras.get("fuzz_programme") or await factories.programme(ctx)
    ctx.extras["fuzz_programme"] = programme_id
    session_id = ctx.extras.get("fuzz_session") or await factories.session(ctx, programme_id, ctx.clock())
    ctx.extras["fuzz_session"] = session_id
    response = await as_admin.post(f"/api/sessions/{session_id}/badge", json={"code": code})
    assert 400 <= response.status_code < 500, response.text
    assert isinstance(response.json()["error"]["code"], str)
