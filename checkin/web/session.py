"""Finding the principal of a request: the sign-in cookie, or an API token."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from checkin.context import AppContext
from checkin.domain.principal import Principal
from checkin.services.accounts import principal_for_session, principal_for_token

COOKIE = "checkin_session"


async def current_principal(conn: HTTPConnection, ctx: AppContext) -> Principal | None:
    if "principal" in conn.scope:
        return conn.scope["principal"]
    principal = None
    auth = conn.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        principal = await principal_for_token(ctx.db, auth[7:].strip(), ctx.clock())
    else:
        token = conn.cookies.get(COOKIE)
        if token:
            principal = await principal_for_session(ctx.db, token, ctx.clock())
    conn.scope["principal"] = principal
    return principal
