"""Request bodies are bounded: JSON by CHECKIN_MAX_BODY_BYTES, CSV uploads by CHECKIN_IMPORT_MAX_BYTES."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from checkin.context import AppContext


async def _chunks(total: int, size: int = 65536) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        chunk = min(size, total - sent)
        sent += chunk
        yield b"x" * chunk


async def test_a_json_body_over_the_limit_is_refused_with_413(ctx: AppContext, as_admin: httpx.AsyncClient) -> None:
    big = {"first_name": "A" * ctx.settings.max_body_bytes, "last_name": "Example"}
    response = await as_admin.post("/api/people", json=big)
    assert (response.status_code, response.json()["error"]["code"]) == (413, "body_too_large")


async def test_a_streamed_body_with_no_length_is_cut_off_at_the_limit(ctx: AppContext,
                                                                      as_admin: httpx.AsyncClient) -> None:
    response = await as_admin.post("/api/people", content=_chunks(ctx.settings.max_body_bytes + 1),
                                   headers={"content-type": "application/json"})
    assert (response.status_code, response.json()["error"]["code"]) == (413, "body_too_large")


async def test_a_body_just_under_the_limit_is_read(ctx: AppContext, as_admin: httpx.AsyncClient) -> None:
    filler = " " * (ctx.settings.max_body_bytes - 100)
    response = await as_admin.post("/api/people", content=f'{{"first_name": "Ava",{filler}"last_name": "Ok"}}',
                                   headers={"content-type": "application/json"})
    assert response.status_code == 201, response.text


async def test_a_csv_upload_over_the_import_limit_is_refused_with_413(ctx: AppContext,
                                                                      as_admin: httpx.AsyncClient) -> None:
    response = await as_admin.post("/api/imports/people?preview=true",
                                   content=_chunks(ctx.settings.import_max_bytes + 1),
                                   headers={"content-type": "text/csv"})
    assert (response.status_code, response.json()["error"]["code"]) == (413, "body_too_large")


async def test_a_body_that_is_not_json_is_refused_with_a_code(as_admin: httpx.AsyncClient) -> None:
    wrong_type = await as_admin.post("/api/people", content=b"first_name=Ava", headers={
        "content-type": "application/x-www-form-urlencoded"})
    malformed = await as_admin.post("/api/people", content=b'{"first_name": "Ava",', headers={
        "content-type": "application/json"})
    assert (wrong_type.status_code, wrong_type.json()["error"]["code"]) == (415, "unsupported_media_type")
    assert (malformed.status_code, malformed.json()["error"]["code"]) == (400, "malformed_json")
