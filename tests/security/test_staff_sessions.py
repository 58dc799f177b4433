"""Staff sign-ins: cookie flags, CSRF on writes, expiry after the configured hours, sign-out everywhere."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from checkin.clock import DrivenClock
from checkin.context import AppContext
from checkin.domain.model import Role
from checkin.web.session import COOKIE
from tests.conftest import PASSWORD
from tests.security.records import staff_with_password

EMAIL = "tess.tutor@example.org"


@pytest.fixture
async def tess(ctx: AppContext) -> int:
    return await staff_with_password(ctx, EMAIL, Role.TUTOR)


@pytest.fixture
async def tablet(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A second device of the same tutor."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


async def _sign_in(client: httpx.AsyncClient) -> dict[str, str]:
    response = await client.post("/api/auth/sign-in", json={"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"x-csrf-token": response.json()["csrf_token"]}


async def test_the_sign_in_cookie_is_http_only_same_site_strict_and_lasts_the_session_hours(
        ctx: AppContext, client: httpx.AsyncClient, tess: int) -> None:
    response = await client.post("/api/auth/sign-in", json={"email": EMAIL, "password": PASSWORD})
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith(COOKIE + "=")
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    assert f"max-age={ctx.settings.session_hours * 3600}" in cookie


async def test_a_write_with_the_cookie_but_without_the_csrf_token_is_refused(client: httpx.AsyncClient,
                                                                             tess: int) -> None:
    await _sign_in(client)
    response = await client.post("/api/auth/tokens", json={"name": "sneaky"})
    assert (response.status_code, response.json()["error"]["code"]) == (403, "csrf_failed")


async def test_a_sign_in_expires_after_the_configured_hours(ctx: AppContext, clock: DrivenClock,
                                                            client: httpx.AsyncClient, tess: int) -> None:
    await _sign_in(client)
    clock.advance(hours=ctx.settings.session_hours, seconds=-1)
    still = await client.get("/api/auth/me")
    clock.advance(seconds=1)
    expired = await client.get("/api/auth/me")
    assert still.status_code == 200
    assert (expired.status_code, expired.json()["error"]["code"]) == (401, "not_signed_in")


async def test_signing_out_ends_this_sign_in_and_leaves_the_other_devices_signed_in(
        client: httpx.AsyncClient, tablet: httpx.AsyncClient, tess: int) -> None:
    csrf = await _sign_in(client)
    await _sign_in(tablet)
    out = await client.post("/api/auth/sign-out", json={}, headers=csrf)
    assert out.status_code == 200
    client.cookies.clear()  # the browser drops the cookie; the old value must be dead anyway
    assert (await tablet.get("/api/auth/me")).status_code == 200


async def test_a_signed_out_cookie_no_longer_works_even_if_replayed(client: httpx.AsyncClient, tess: int) -> None:
    csrf = await _sign_in(client)
    stolen = client.cookies[COOKIE]
    await client.post("/api/auth/sign-out", json={}, headers=csrf)
    client.cookies.set(COOKIE, stolen)
    replay = await client.get("/api/auth/me")
    assert replay.status_code == 401


async def test_signing_out_everywhere_ends_every_sign_in_of_that_person(
        client: httpx.AsyncClient, tablet: httpx.AsyncClient, tess: int) -> None:
    csrf = await _sign_in(client)
    await _sign_in(tablet)
    out = await client.post("/api/auth/sign-out", json={"everywhere": True}, headers=csrf)
    assert out.status_code == 200
    assert (await tablet.get("/api/auth/me")).status_code == 401


async def test_signing_out_everywhere_leaves_other_staff_signed_in(ctx: AppContext, client: httpx.AsyncClient,
                                                                   tablet: httpx.AsyncClient, tess: int) -> None:
    await staff_with_password(ctx, "tom.tutor@example.org", Role.TUTOR)
    csrf = await _sign_in(client)
    other = await tablet.post("/api/auth/sign-in", json={"email": "tom.tutor@example.org", "password": PASSWORD})
    await client.post("/api/auth/sign-out", json={"everywhere": True}, headers=csrf)
    assert other.status_code == 200 and (await tablet.get("/api/auth/me")).status_code == 200
