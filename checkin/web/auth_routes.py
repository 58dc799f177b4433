"""Sign-in, sign-out and who-am-I for staff; API tokens for integrations."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from checkin.context import AppContext
from checkin.domain.errors import DomainError
from checkin.services import accounts
from checkin.web.endpoint import STAFF, Api, Call
from checkin.web.errors import error_response
from checkin.web.fields import Bool, Obj, Str
from checkin.web.ratelimit import RateLimiter, limited_response
from checkin.web.session import COOKIE

api = Api()
# Failed sign-ins per IP address: 10 at once, then one more every 30 s. Only failures cost, so a
# staff room behind one address signing in at 9:00 is never held up; the per-account lockout
# (accounts.MAX_FAILED) stops guessing at one account from many addresses.
SIGN_IN_BURST = 10
SIGN_IN_REFILL_SECONDS = 30


def sign_in_limiter(ctx: AppContext) -> RateLimiter:
    """The app's failed-sign-in buckets, made on first use and timed by the app's clock."""
    found = ctx.extras.get("sign_in_limiter")
    if isinstance(found, RateLimiter):
        return found
    made = RateLimiter(SIGN_IN_BURST, 1 / SIGN_IN_REFILL_SECONDS, lambda: ctx.clock().timestamp())
    ctx.extras["sign_in_limiter"] = made
    return made


def _me(call: Call) -> dict[str, Any]:
    p = call.actor
    return {"user_id": p.user_id, "org_id": p.org_id, "role": p.role.value, "name": p.name,
            "csrf_token": p.csrf_token}


@api.route("POST", "/api/auth/sign-in", roles=None, summary="Sign in with e-mail and password", tag="auth",
           body=Obj({"email": Str(max_len=320, min_len=1), "password": Str(max_len=256, min_len=1)}))
async def sign_in(call: Call) -> Response:
    s = call.ctx.settings
    limiter = sign_in_limiter(call.ctx)
    client = call.request.client
    ip = client.host if client else ""
    verdict = limiter.check(ip)
    if not verdict.allowed:
        return limited_response(verdict, f"Too many failed sign-ins from this address. Try again in "
                                         f"{verdict.retry_after_seconds} seconds.")
    try:
        result = await accounts.sign_in(call.ctx.db, call.body["email"], call.body["password"], call.now,
                                        s.session_hours)
    except DomainError as refused:
        limiter.take(ip)
        if refused.code == "account_locked":
            seconds = refused.details.get("retry_after_seconds")
            wait = max(1, seconds if isinstance(seconds, int) else 1)
            return error_response(refused.status, refused.code, refused.message, headers={"Retry-After": str(wait)},
                                  retry_after_seconds=wait)
        raise
    p = result.principal
    resp = JSONResponse({"user_id": p.user_id, "org_id": p.org_id, "role": p.role.value, "name": p.name,
                         "csrf_token": p.csrf_token})
    resp.set_cookie(COOKIE, result.token, max_age=s.session_hours * 3600, httponly=True, samesite="strict",
                    secure=s.secure_cookies, path="/")
    return resp


@api.route("POST", "/api/auth/sign-out", roles=STAFF, summary="Sign out (everywhere=true ends every session)",
           tag="auth", body=Obj({"everywhere": Bool(required=False, default=False)}))
async def sign_out(call: Call) -> JSONResponse:
    await accounts.sign_out(call.ctx.db, call.actor, call.now, call.body["everywhere"])
    resp = JSONResponse({"signed_out": True})
    resp.delete_cookie(COOKIE, path="/")
    return resp


@api.route("GET", "/api/auth/me", roles=STAFF, summary="The signed-in staff member and their CSRF token",
           tag="auth")
async def me(call: Call) -> dict[str, Any]:
    return _me(call)


@api.route("POST", "/api/auth/tokens", roles=STAFF, summary="Create an API token for an integration",
           tag="auth", body=Obj({"name": Str(min_len=1, max_len=100)}), status=201)
async def create_token(call: Call) -> dict[str, Any]:
    return await accounts.create_api_token(call.ctx.db, call.actor, call.body["name"], call.now)


