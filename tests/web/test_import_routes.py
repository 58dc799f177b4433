"""POST /api/imports/{kind}: managers upload CSV; problems come back as one coded 422."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from checkin.context import AppContext
from checkin.domain.model import Role
from checkin.settings import Settings
from checkin.storage.tables import people
from tests.conftest import make_user, sign_in

LIMIT = 4000
PEOPLE = ("first_name,last_name,email,external_ref,ap_pupil\n"
          "Priya,Okafor,priya.okafor@example.org,P-001,yes\n"
          "Tomasz,Byrne,,P-002,no\n")
CSV = {"content-type": "text/csv"}


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings.from_env({}, data_dir=tmp_path / "data", database_url=database_url,
                             secret_key="test-secret-" + "x" * 40, public_base_url="http://testserver",
                             import_max_bytes=LIMIT)


async def people_count(ctx: AppContext) -> int:
    async with ctx.db.read() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(people))).scalar_one())


async def test_an_import_answers_with_the_counts_of_what_it_wrote(client: httpx.AsyncClient, admin: dict[str, str],
                                                                  ctx: AppContext):
    r = await client.post("/api/imports/people", content=PEOPLE, headers=admin | CSV)
    assert r.status_code == 200, r.text
    assert r.json() == {"kind": "people", "preview": False, "rows": 2, "created": 2, "updated": 0, "unchanged": 0,
                        "problems": []}
    assert await people_count(ctx) == 2


async def test_a_preview_answers_the_same_counts_and_writes_nothing(client: httpx.AsyncClient, admin: dict[str, str],
                                                                    ctx: AppContext):
    r = await client.post("/api/imports/people?preview=true", content=PEOPLE, headers=admin | CSV)
    assert (r.status_code, r.json()["preview"], r.json()["created"]) == (200, True, 2)
    assert await people_count(ctx) == 0


async def test_broken_rows_are_a_422_listing_row_column_and_code_of_each(client: httpx.AsyncClient,
                                                                        admin: dict[str, str], ctx: AppContext):
    text = PEOPLE + "Leona,,leona@,P-003,maybe\n"
    r = await client.post("/api/imports/people", content=text, headers=admin | CSV)
    assert r.status_code == 422
    error = r.json()["error"]
    assert (error["code"], error["kind"], error["rows"]) == ("import_invalid", "people", 3)
    assert [(p["row"], p["column"], p["code"]) for p in error["problems"]] == [
        (4, "last_name", "required"), (4, "email", "invalid_email"), (4, "ap_pupil", "invalid_boolean")]
    assert all(p["message"] for p in error["problems"])
    assert await people_count(ctx) == 0


async def test_a_byte_order_mark_is_read_past(client: httpx.AsyncClient, admin: dict[str, str]):
    r = await client.post("/api/imports/people", content=b"\xef\xbb\xbf" + PEOPLE.encode(), headers=admin | CSV)
    assert (r.status_code, r.json()["created"]) == (200, 2)


async def test_a_file_over_the_import_limit_is_refused_with_413(client: httpx.AsyncClient, admin: dict[str, str]):
    big = PEOPLE + "Ann,Other,,,no\n" * (LIMIT // 10)
    r = await client.post("/api/imports/people", content=big, headers=admin | CSV)
    assert (r.status_code, r.json()["error"]["code"]) == (413, "body_too_large")


async def test_a_tutor_may_not_import(client: httpx.AsyncClient, ctx: AppContext):
    await make_user(ctx, "tutor@example.org", Role.TUTOR, "Toni Tutor")
    headers = await sign_in(client, "tutor@example.org")
    r = await client.post("/api/imports/people", content=PEOPLE, headers=headers | CSV)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden")


async def test_an_upload_without_the_csrf_token_is_refused(client: httpx.AsyncClient, admin: dict[str, str]):
    r = await client.post("/api/imports/people", content=PEOPLE, headers=CSV)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "csrf_failed")


async def test_an_unknown_kind_of_import_is_not_found(client: httpx.AsyncClient, admin: dict[str, str]):
    r = await client.post("/api/imports/pets", content=PEOPLE, headers=admin | CSV)
    assert (r.status_code, r.json()["error"]["code"]) == (404, "unknown_import_kind")


async def test_a_body_that_is_not_csv_is_unsupported(client: httpx.AsyncClient, admin: dict[str, str]):
    r = await client.post("/api/imports/people", json={"first_name": "Priya"}, headers=admin)
    assert (r.status_code, r.json()["error"]["code"]) == (415, "unsupported_media_type")


async def test_the_columns_of_every_kind_are_listed(client: httpx.AsyncClient, admin: dict[str, str]):
    r = await client.get("/api/imports")
    kinds = {k["kind"]: k["columns"] for k in r.json()}
    assert list(kinds) == ["people", "contacts", "sessions", "rosters"]
    assert [c["name"] for c in kinds["rosters"]] == ["session_ref", "person_ref"]
    assert all(c["required"] for c in kinds["rosters"])
