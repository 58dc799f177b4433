"""QR check-in: the participant's public scan endpoints, and the staff display, poster and badge endpoints.

Participants never sign in. Two HttpOnly, SameSite=Lax cookies scoped to /api/checkin stand
for the phone: a random device id (for rate limits and the shared-phone flag) and, once the
participant has confirmed who they are, a signed identity. Every public answer that is not a
check-in of the identified participant names nobody.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from starlette.responses import JSONResponse, Response

from checkin.context import AppContext
from checkin.domain.errors import NotFound
from checkin.domain.model import Role
from checkin.domain.tokens import PURPOSE_DEVICE, DeviceIdentity, derive_key, issue_device, verify_device
from checkin.services import badges, checkin
from checkin.services.checkin import CheckinRefused, Scanner
from checkin.services.ownership import session_for
from checkin.services.scan_codes import SessionFacts, display_code, load_session, poster_code
from checkin.web.endpoint import MANAGERS, STAFF, Api, Call
from checkin.web.fields import Choice, Day, Int, Obj, Str
from checkin.web.qr import qr_svg, svg_data_url
from checkin.web.ratelimit import RateLimiter, Verdict, limited_response, take_all

api = Api()

DEVICE_COOKIE = "checkin_device"
PERSON_COOKIE = "checkin_person"
COOKIE_PATH = "/api/checkin"
COOKIE_DAYS = 180
_DEVICE_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
BADGE_ROLES = MANAGERS | {Role.TUTOR}
INVITATION_ROLES = MANAGERS | {Role.EVENTS_TEAM}
_direction = Choice(choices=("in", "out"), required=False, default="in")


@dataclass
class CheckinLimits:
    """Buckets per IP are roomy (a venue's Wi-Fi puts a whole room behind one address); per device, tight."""

    scan_ip: RateLimiter
    scan_device: RateLimiter
    identify_ip: RateLimiter
    identify_device: RateLimiter
    badge_user: RateLimiter


def limits(ctx: AppContext) -> CheckinLimits:
    """The app's limiters, made on first use and timed by the app's clock."""
    found = ctx.extras.get("checkin_limits")
    if isinstance(found, CheckinLimits):
        return found

    def seconds() -> float:
        return ctx.clock().timestamp()

    made = CheckinLimits(scan_ip=RateLimiter(300, 5, seconds), scan_device=RateLimiter(20, 0.5, seconds),
                         identify_ip=RateLimiter(200, 2, seconds), identify_device=RateLimiter(6, 1 / 60, seconds),
                         badge_user=RateLimiter(60, 1, seconds))
    ctx.extras["checkin_limits"] = made
    return made


@dataclass
class Phone:
    """The caller as the cookies describe it; `new_device` when its id was minted for this response."""

    device_id: str
    new_device: bool
    identity: DeviceIdentity | None
    ip: str

    def scanner(self) -> Scanner:
        ident = self.identity
        return Scanner(self.device_id, self.ip, ident.person_id if ident else None, ident.org_id if ident else None)


def _phone(call: Call) -> Phone:
    raw = call.request.cookies.get(DEVICE_COOKIE, "")
    new = not _DEVICE_ID.match(raw)
    device_id = secrets.token_urlsafe(16) if new else raw
    identity = None
    signed = call.request.cookies.get(PERSON_COOKIE, "")
    if signed:
        verified = verify_device(derive_key(call.ctx.secret, PURPOSE_DEVICE), signed, call.now, COOKIE_DAYS)
        identity = verified if isinstance(verified, DeviceIdentity) else None
    client = call.request.client
    return Phone(device_id, new, identity, client.host if client else "")


def _set_cookie(response: Response, call: Call, name: str, value: str) -> None:
    response.set_cookie(name, value, max_age=COOKIE_DAYS * 86400, httponly=True, samesite="lax",
                        secure=call.ctx.settings.secure_cookies, path=COOKIE_PATH)


def _answer(call: Call, phone: Phone, status: int, body: dict[str, Any], person: tuple[int, int] | None = None,
            headers: dict[str, str] | None = None) -> Response:
    """A JSON answer that (re)sets the phone's cookies: a new device id, or a just-confirmed identity."""
    response = JSONResponse(body, status_code=status, headers=headers)
    if phone.new_device:
        _set_cookie(response, call, DEVICE_COOKIE, phone.device_id)
    if person is not None:
        token = issue_device(derive_key(call.ctx.secret, PURPOSE_DEVICE), person[0], person[1], call.now)
        _set_cookie(response, call, PERSON_COOKIE, token)
    return response


def _error_body(refused: CheckinRefused) -> dict[str, Any]:
    return {"error": {"code": refused.code, "message": refused.message, "field": refused.field, **refused.details}}


def _refusal(call: Call, phone: Phone, refused: CheckinRefused, person: tuple[int, int] | None = None) -> Response:
    return _answer(call, phone, refused.status, _error_body(refused), person)


async def _limited(call: Call, phone: Phone, verdict: Verdict, session_id: int) -> Response:
    """429, storing the refusal once per run of refusals so a flood cannot flood the attempt log."""
    if verdict.first_refusal:
        await checkin.record_attempt(call.ctx, session_id=session_id, outcome="rate_limited", device=phone.device_id,
                                     ip=phone.ip, now=call.now)
    response = limited_response(verdict)
    if phone.new_device:
        _set_cookie(response, call, DEVICE_COOKIE, phone.device_id)
    return response


_scan_body = Obj({"session_id": Int(minimum=1), "token": Str(min_len=1, max_len=100), "direction": _direction})


@api.route("POST", "/api/checkin/scan", roles=None, tag="checkin", body=_scan_body,
           summary="A phone's scan of a session's QR code; 401 identify_needed (with a ticket) for a new phone")
async def scan(call: Call) -> Response:
    phone = _phone(call)
    lim = limits(call.ctx)
    verdict = take_all([(lim.scan_ip, phone.ip), (lim.scan_device, phone.device_id)])
    if not verdict.allowed:
        return await _limited(call, phone, verdict, call.body["session_id"])
    try:
        result = await checkin.scan(call.ctx, call.body["session_id"], call.body["token"], call.body["direction"],
                                    phone.scanner(), call.now)
    except CheckinRefused as refused:
        return _refusal(call, phone, refused)
    return _answer(call, phone, 200, result.to_json())


_identify_body = Obj({"session_id": Int(minimum=1), "ticket": Str(min_len=1, max_len=100),
                      "email": Str(max_len=320, required=False), "code": Str(max_len=40, required=False),
                      "direction": _direction})


@api.route("POST", "/api/checkin/identify", roles=None, tag="checkin", body=_identify_body,
           summary="Confirm who you are (e-mail or personal code) with the ticket from a scan, and check in")
async def identify(call: Call) -> Response:
    phone = _phone(call)
    b = call.body
    if bool(b["email"]) == bool(b["code"]):
        refused = CheckinRefused("invalid_field", "Give your e-mail address or your personal code.", "email",
                                 status=422)
        return _refusal(call, phone, refused)
    lim = limits(call.ctx)
    verdict = take_all([(lim.identify_ip, phone.ip), (lim.identify_device, phone.device_id)])
    if not verdict.allowed:
        return await _limited(call, phone, verdict, b["session_id"])
    scanner = phone.scanner()
    try:
        person_id = await checkin.identify(call.ctx, b["session_id"], b["ticket"], scanner, call.now,
                                           email=b["email"], code=b["code"])
    except CheckinRefused as refused:
        return _refusal(call, phone, refused)
    async with call.ctx.db.read() as conn:
        facts = await load_session(conn, b["session_id"], call.ctx.settings.timezone)
    assert facts is not None  # identify checked it
    person = (person_id, facts.org_id)
    try:
        result = await checkin.check_in(call.ctx, facts, person_id, b["direction"],
                                        Scanner(scanner.device_id, scanner.ip, person_id, facts.org_id), call.now)
    except CheckinRefused as refused:
        return _refusal(call, phone, refused, person)
    return _answer(call, phone, 200, result.to_json(), person)


@api.route("GET", "/api/checkin/me", roles=None, tag="checkin",
           summary="Whom this phone is remembered as (their first name only, shown only to this phone)")
async def me(call: Call) -> Response:
    phone = _phone(call)
    name = None
    if phone.identity is not None:
        name = await checkin.first_name(call.ctx, phone.identity.person_id, phone.identity.org_id)
    body = {"remembered": name is not None, "first_name": name}
    return _answer(call, phone, 200, body)


@api.route("POST", "/api/checkin/forget", roles=None, tag="checkin", body=Obj({}),
           summary="Forget who this phone belongs to (\"Not you?\")")
async def forget(call: Call) -> Response:
    response = _answer(call, _phone(call), 200, {"remembered": False})
    response.delete_cookie(PERSON_COOKIE, path=COOKIE_PATH, httponly=True, samesite="lax",
                           secure=call.ctx.settings.secure_cookies)
    return response


async def _staff_session(call: Call) -> SessionFacts:
    async with call.ctx.db.read() as conn:
        await session_for(conn, call.actor, call.params["session_id"])
        facts = await load_session(conn, call.params["session_id"], call.ctx.settings.timezone)
    if facts is None:
        raise NotFound("not_found", "No such session.")
    return facts


def _session_json(facts: SessionFacts) -> dict[str, Any]:
    info = facts.info
    return {"id": info.id, "title": info.title, "starts_at": info.starts_at.isoformat(),
            "ends_at": info.ends_at.isoformat(), "location": facts.location, "timezone": facts.zone.key,
            "status": info.status.value}


async def _counts(call: Call, session_id: int) -> dict[str, int]:
    async with call.ctx.db.read() as conn:
        return await checkin.arrivals(conn, session_id)


@api.route("GET", "/api/sessions/{session_id:int}/display", roles=STAFF, tag="checkin",
           query=Obj({"direction": _direction}),
           summary="The projector's current rotating QR code, its validity, and arrived / expected")
async def display(call: Call) -> dict[str, Any]:
    facts = await _staff_session(call)
    now = call.now
    code = display_code(call.ctx, facts, now, call.query["direction"])
    svg = qr_svg(code.url, title=f"Check-in code for {facts.info.title}")
    refresh = max(50, int((code.valid_until - now) / timedelta(milliseconds=1)) + 50)
    return {"session": _session_json(facts), "direction": call.query["direction"], "code": code.to_json(),
            "svg": svg, "image": svg_data_url(svg), "rotation_seconds": facts.rotation_s, "now": now.isoformat(),
            "refresh_in_ms": refresh, "counts": await _counts(call, facts.info.id),
            "checkin_opens_at": facts.opens_at.isoformat(), "checkin_closes_at": facts.info.ends_at.isoformat()}


@api.route("GET", "/api/sessions/{session_id:int}/arrivals", roles=STAFF, tag="checkin",
           summary="How many on the roster have arrived, of how many expected")
async def arrivals(call: Call) -> dict[str, int]:
    facts = await _staff_session(call)
    return await _counts(call, facts.info.id)


@api.route("GET", "/api/sessions/{session_id:int}/poster", roles=STAFF, tag="checkin",
           query=Obj({"day": Day(required=False), "direction": _direction}),
           summary="A printable QR code for one day of a session, valid from check-in opening to the end")
async def poster(call: Call) -> dict[str, Any]:
    facts = await _staff_session(call)
    day = call.query["day"] or max(facts.day(facts.info.starts_at), min(facts.day(call.now),
                                                                         facts.day(facts.info.ends_at)))
    code = poster_code(call.ctx, facts, day, call.query["direction"])
    svg = qr_svg(code.url, title=f"Check-in code for {facts.info.title}")
    return {"session": _session_json(facts), "direction": call.query["direction"], "code": code.to_json(),
            "svg": svg, "image": svg_data_url(svg)}


@api.route("POST", "/api/sessions/{session_id:int}/badge", roles=BADGE_ROLES, tag="checkin",
           body=Obj({"code": Str(min_len=1, max_len=64)}),
           summary="Check a participant in from their badge code (scanned or typed) at the tutor's tablet")
async def badge_checkin(call: Call) -> Response:
    actor = call.actor
    verdict = limits(call.ctx).badge_user.take(f"user:{actor.user_id}")
    if not verdict.allowed:
        return limited_response(verdict)
    client = call.request.client
    try:
        result = await badges.check_in_badge(call.ctx, actor, call.params["session_id"], call.body["code"],
                                             client.host if client else "", call.now)
    except CheckinRefused as refused:
        return JSONResponse(_error_body(refused), status_code=refused.status)
    return JSONResponse(result)


@api.route("GET", "/api/people/{person_id:int}/badge", roles=STAFF, tag="checkin",
           summary="A participant's personal badge: the code and its QR as SVG")
async def badge(call: Call) -> dict[str, Any]:
    found = await badges.badge_of(call.ctx, call.actor, call.params["person_id"])
    svg = qr_svg(found.code, title=f"Badge {found.code}")
    return found.to_json() | {"svg": svg, "image": svg_data_url(svg)}


@api.route("GET", "/api/people/{person_id:int}/personal-code", roles=INVITATION_ROLES, tag="checkin",
           summary="The personal code to print on a participant's invitation (typed to confirm who they are)")
async def personal_code(call: Call) -> dict[str, Any]:
    return await badges.personal_code_of(call.ctx, call.actor, call.params["person_id"])
