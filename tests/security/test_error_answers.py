"""No answer leaks a stack trace or SQL: an internal failure is one generic coded JSON error."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from checkin.context import AppContext
from checkin.domain.model import Role
from checkin.domain.principal import Principal
from checkin.services.accounts import create_api_token, create_user
from checkin.services.backup import sqlite_path
from checkin.settings import Settings
from tests.conftest import LiveServer
from tests.security.records import bearer

LEAKS = ("Traceback", "SELECT", "retention_settings", "sqlalchemy", "sqlite3", 'File "', "OperationalError")
GENERIC = {"error": {"code": "internal_error", "message": "Something went wrong on our side; it has been logged.",
                     "field": None}}


def _break_a_table(database_url: str) -> None:
    """A real fault under a route: the table it reads disappears."""
    conn = sqlite3.connect(sqlite_path(database_url))
    try:
        conn.execute("DROP TABLE retention_settings")
        conn.commit()
    finally:
        conn.close()


@pytest.fixture
async def unguarded(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client that receives the app's 500 answer instead of the re-raised exception."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def test_a_database_failure_under_a_route_answers_the_generic_coded_error(
        ctx: AppContext, unguarded: httpx.AsyncClient) -> None:
    admin = await bearer(ctx, "ada.admin@example.org", Role.ADMIN)
    _break_a_table(ctx.settings.database_url)

    response = await unguarded.get("/api/retention", headers=admin)

    assert (response.status_code, response.json()) == (500, GENERIC)
    assert not [leak for leak in LEAKS if leak in response.text]


def test_the_real_server_answers_an_internal_failure_the_same_way(live_settings: Settings) -> None:
    with LiveServer(live_settings, background=False) as server:
        async def token() -> str:
            ctx = server.app.state.ctx
            user_id = await create_user(ctx.db, ctx.extras["org_id"], "ada.admin@example.org", "Ada", Role.ADMIN,
                                        None, ctx.clock())
            who = Principal(user_id, ctx.extras["org_id"], Role.ADMIN, "Ada", "token")
            return str((await create_api_token(ctx.db, who, "t", ctx.clock()))["token"])

        headers = {"authorization": f"Bearer {server.run(token())}"}
        _break_a_table(live_settings.database_url)
        response = httpx.get(f"{server.url}/api/retention", headers=headers, timeout=10)
    assert (response.status_code, response.json()) == (500, GENERIC)
    assert response.headers["content-type"] == "application/json"
    assert not [leak for leak in LEAKS if leak in response.text]


@pytest.mark.parametrize(("method", "path", "status", "code"), [
    ("GET", "/api/no-such-thing", 404, "not_found"),
    ("DELETE", "/api/auth/me", 405, "method_not_allowed"),
    ("GET", "/api/sessions/not-a-number", 404, "not_found"),
    ("GET", "/api/audit?limit=ten", 422, "invalid_field"),
])
async def test_requests_the_app_cannot_serve_get_coded_json_errors(
        ctx: AppContext, client: httpx.AsyncClient, method: str, path: str, status: int, code: str) -> None:
    headers = await bearer(ctx, "ada.admin@example.org", Role.ADMIN)
    response = await client.request(method, path, headers=headers)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert not [leak for leak in LEAKS if leak in response.text]
