"""Sign-in abuse: failed attempts per address are rate limited, and an account locks after five failures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from checkin.clock import DrivenClock
from checkin.context import AppContext
from checkin.domain.model import Role
from checkin.storage.database import Tx
from checkin.storage.tables import users
from checkin.web.auth_routes import SIGN_IN_BURST, SIGN_IN_REFILL_SECONDS, sign_in_limiter
from tests.conftest import PASSWORD
from tests.security.records import staff_with_password

EMAIL = "tess.tutor@example.org"
HOME = "127.0.0.1"  # httpx's ASGI transport calls from here by default


@pytest.fixture
async def tess(ctx: AppContext) -> int:
    return await staff_with_password(ctx, EMAIL, Role.TUTOR)


@pytest.fixture
async def elsewhere(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client calling from another address."""
    transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def _sign_in(client: httpx.AsyncClient, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/api/auth/sign-in", json={"email": EMAIL, "password": password})


def _drain(ctx: AppContext, ip: str) -> None:
    for _ in range(SIGN_IN_BURST):
        assert sign_in_limiter(ctx).take(ip).allowed


async def test_a_failed_sign_in_costs_the_address_a_try_and_a_successful_one_does_not(
        ctx: AppContext, client: httpx.AsyncClient, tess: int) -> None:
    failed = await _sign_in(client, "not-the-password")
    ok = await _sign_in(client)
    assert (failed.status_code, ok.status_code) == (401, 200)
    assert sign_in_limiter(ctx).tokens(HOME) == SIGN_IN_BURST - 1


async def test_past_the_burst_of_failures_sign_in_is_refused_with_a_clear_message_and_retry_after(
        ctx: AppContext, client: httpx.AsyncClient, tess: int) -> None:
    _drain(ctx, HOME)

    refused = await _sign_in(client)

    assert refused.status_code == 429
    assert refused.headers["retry-after"] == str(SIGN_IN_REFILL_SECONDS)
    error = refused.json()["error"]
    assert error["code"] == "rate_limited"
    assert error["message"] == f"Too many failed sign-ins from this address. Try again in {SIGN_IN_REFILL_SECONDS} " \
                               "seconds."


async def test_the_limit_lifts_as_time_passes(ctx: AppContext, clock: DrivenClock, client: httpx.AsyncClient,
                                              tess: int) -> None:
    _drain(ctx, HOME)
    clock.advance(seconds=SIGN_IN_REFILL_SECONDS)
    assert (await _sign_in(client)).status_code == 200


async def test_one_address_being_limited_leaves_other_addresses_free(
        ctx: AppContext, client: httpx.AsyncClient, elsewhere: httpx.AsyncClient, tess: int) -> None:
    _drain(ctx, HOME)
    assert ((await _sign_in(client)).status_code, (await _sign_in(elsewhere)).status_code) == (429, 200)


async def _failures_so_far(ctx: AppContext, n: int) -> None:
    async def work(tx: Tx) -> None:
        await tx.conn.execute(sa.update(users).where(users.c.email == EMAIL).values(failed_logins=n))

    await ctx.db.write(work)


async def test_the_fifth_failure_locks_the_account_for_fifteen_minutes_even_with_the_right_password(
        ctx: AppContext, client: httpx.AsyncClient, elsewhere: httpx.AsyncClient, tess: int) -> None:
    await _failures_so_far(ctx, 4)
    fifth = await _sign_in(client, "still-not-the-password")

    locked = await _sign_in(elsewhere)

    assert fifth.status_code == 401
    assert (locked.status_code, locked.headers["retry-after"]) == (429, "900")
    assert locked.json()["error"]["code"] == "account_locked"
    assert locked.json()["error"]["message"] == "Too many failed sign-ins. Try again in 15 minutes."


async def test_a_locked_account_opens_again_after_fifteen_minutes(ctx: AppContext, clock: DrivenClock,
                                                                  client: httpx.AsyncClient, tess: int) -> None:
    await _failures_so_far(ctx, 4)
    await _sign_in(client, "still-not-the-password")
    clock.advance(minutes=15, seconds=1)
    assert (await _sign_in(client)).status_code == 200
