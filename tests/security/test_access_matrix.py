"""The access-control matrix: every route and WebSocket, every role, no sign-in, and another organisation.

EXPECTED is the reviewed table of who may call what. A route added without an entry here, or
an entry whose route is gone, fails `test_every_endpoint_has_a_matrix_entry_and_every_entry_an_endpoint`;
then each entry is checked over HTTP with a real API token per role: an allowed role must not be
refused (401/403; a 404 or 422 for made-up ids or bodies is fine), a denied role must be (401
without sign-in, else 403), and an admin of another organisation must get 404 or 403 on this
organisation's ids.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from checkin.app import apis
from checkin.context import AppContext
from checkin.domain.model import Role
from checkin.web.endpoint import Endpoint, SocketEndpoint
from tests.conftest import PASSWORD
from tests.security.asgi_ws import first_answer
from tests.security.world import ROLE_ORDER, SPARE_EMAIL, World, build, example

A, PM, T, E, D = Role.ADMIN, Role.PROGRAMME_MANAGER, Role.TUTOR, Role.EVENTS_TEAM, Role.DSL
PUBLIC = "public"
STAFF = frozenset(Role)
MANAGERS = frozenset({A, PM})
ADMIN = frozenset({A})
ADMIN_DSL = frozenset({A, D})
NOT_TUTOR = frozenset({A, PM, E, D})

EXPECTED: dict[tuple[str, str], frozenset[Role] | str] = {
    # auth
    ("POST", "/api/auth/sign-in"): PUBLIC,
    ("POST", "/api/auth/sign-out"): STAFF,
    ("GET", "/api/auth/me"): STAFF,
    ("POST", "/api/auth/tokens"): STAFF,
    # imports
    ("GET", "/api/imports"): MANAGERS,
    ("POST", "/api/imports/{kind}"): MANAGERS,
    # the register
    ("GET", "/api/register/sessions"): STAFF,
    ("GET", "/api/sessions/{session_id:int}/register"): STAFF,
    ("POST", "/api/sessions/{session_id:int}/marks"): STAFF,
    ("POST", "/api/sessions/{session_id:int}/complete"): STAFF,
    ("POST", "/api/sessions/{session_id:int}/tutor-checkin"): frozenset({T}),
    # organisation and staff
    ("GET", "/api/org"): STAFF,
    ("PATCH", "/api/org"): ADMIN,
    ("GET", "/api/presets"): STAFF,
    ("GET", "/api/staff"): MANAGERS,
    ("POST", "/api/staff"): ADMIN,
    ("PATCH", "/api/staff/{user_id:int}"): ADMIN,
    # programmes and sessions
    ("GET", "/api/programmes"): STAFF,
    ("POST", "/api/programmes"): MANAGERS,
    ("GET", "/api/programmes/{programme_id:int}"): STAFF,
    ("PATCH", "/api/programmes/{programme_id:int}"): MANAGERS,
    ("GET", "/api/programmes/{programme_id:int}/cohorts"): STAFF,
    ("POST", "/api/programmes/{programme_id:int}/cohorts"): MANAGERS,
    ("GET", "/api/sessions"): STAFF,
    ("POST", "/api/sessions"): MANAGERS,
    ("GET", "/api/sessions/{session_id:int}"): STAFF,
    ("PATCH", "/api/sessions/{session_id:int}"): MANAGERS,
    ("POST", "/api/sessions/{session_id:int}/cancel"): frozenset({A, PM, T}),
    ("GET", "/api/sessions/{session_id:int}/roster"): STAFF,
    ("PUT", "/api/sessions/{session_id:int}/roster"): MANAGERS,
    # people, contacts, enrolments
    ("GET", "/api/people"): STAFF,
    ("POST", "/api/people"): MANAGERS,
    ("GET", "/api/people/{person_id:int}"): STAFF,
    ("PATCH", "/api/people/{person_id:int}"): MANAGERS,
    ("GET", "/api/people/{person_id:int}/contacts"): STAFF,
    ("POST", "/api/people/{person_id:int}/contacts"): NOT_TUTOR,
    ("PATCH", "/api/contacts/{contact_id:int}"): NOT_TUTOR,
    ("DELETE", "/api/contacts/{contact_id:int}"): NOT_TUTOR,
    ("GET", "/api/people/{person_id:int}/enrolments"): STAFF,
    ("POST", "/api/people/{person_id:int}/enrolments"): MANAGERS,
    ("PATCH", "/api/enrolments/{enrolment_id:int}"): MANAGERS,
    ("GET", "/api/deadlines"): MANAGERS,
    # QR check-in (participants never sign in) and badges
    ("POST", "/api/checkin/scan"): PUBLIC,
    ("POST", "/api/checkin/identify"): PUBLIC,
    ("GET", "/api/checkin/me"): PUBLIC,
    ("POST", "/api/checkin/forget"): PUBLIC,
    ("GET", "/api/sessions/{session_id:int}/display"): STAFF,
    ("GET", "/api/sessions/{session_id:int}/arrivals"): STAFF,
    ("GET", "/api/sessions/{session_id:int}/poster"): STAFF,
    ("POST", "/api/sessions/{session_id:int}/badge"): frozenset({A, PM, T}),
    ("GET", "/api/people/{person_id:int}/badge"): STAFF,
    ("GET", "/api/people/{person_id:int}/personal-code"): frozenset({A, PM, E}),
    # audit and data protection
    ("GET", "/api/audit"): ADMIN_DSL,
    ("GET", "/api/retention"): ADMIN,
    ("PUT", "/api/retention/{record_type}"): ADMIN,
    ("POST", "/api/retention/purge"): ADMIN,
    ("GET", "/api/legal-holds"): ADMIN_DSL,
    ("POST", "/api/legal-holds"): ADMIN_DSL,
    ("POST", "/api/legal-holds/{hold_id:int}/release"): ADMIN,
    ("GET", "/api/people/{person_id:int}/export"): ADMIN,
    ("POST", "/api/people/{person_id:int}/erase"): ADMIN,
    # alerts and deliveries
    ("GET", "/api/alerts"): ADMIN_DSL,
    ("GET", "/api/alerts/{alert_id:int}"): ADMIN_DSL,
    ("POST", "/api/alerts/{alert_id:int}/acknowledge"): ADMIN_DSL,
    ("POST", "/api/alerts/{alert_id:int}/decisions"): ADMIN_DSL,
    ("POST", "/api/alerts/{alert_id:int}/close"): ADMIN_DSL,
    ("POST", "/api/sessions/{session_id:int}/concerns"): STAFF,
    ("GET", "/api/deliveries"): ADMIN_DSL,
    ("POST", "/api/deliveries/{delivery_id}/retry"): ADMIN,
    ("GET", "/api/webhooks"): ADMIN,
    ("POST", "/api/webhooks"): ADMIN,
    ("PATCH", "/api/webhooks/{webhook_id:int}"): ADMIN,
    # follow-ups, events board, tasks
    ("POST", "/api/follow-ups"): STAFF,
    ("GET", "/api/follow-ups"): STAFF,
    ("POST", "/api/sessions/{session_id:int}/reports"): STAFF,
    ("GET", "/api/sessions/{session_id:int}/reports"): STAFF,
    ("GET", "/api/events/board"): frozenset({A, E}),
    ("GET", "/api/tasks"): STAFF,
    ("POST", "/api/tasks/{task_id:int}/complete"): STAFF,
    # notices, force majeure, catch-ups, escalations
    ("POST", "/api/sessions/{session_id:int}/notices"): STAFF,
    ("GET", "/api/sessions/{session_id:int}/notices"): STAFF,
    ("POST", "/api/sessions/{session_id:int}/force-majeure"): frozenset({A, PM, E}),
    ("GET", "/api/people/{person_id:int}/catch-ups"): STAFF,
    ("POST", "/api/people/{person_id:int}/catch-ups"): STAFF,
    ("POST", "/api/catch-ups/{catch_up_id:int}/confirm"): STAFF,
    ("GET", "/api/escalation-stages"): STAFF,
    ("GET", "/api/people/{person_id:int}/escalations"): STAFF,
    ("POST", "/api/people/{person_id:int}/escalations"): MANAGERS,
    # reports and exports
    ("GET", "/api/programmes/{programme_id:int}/report"): STAFF,
    ("GET", "/api/people/{person_id:int}/report"): STAFF,
    ("GET", "/api/programmes/{programme_id:int}/exports/marks.csv"): STAFF,
    ("GET", "/api/programmes/{programme_id:int}/exports/summary.csv"): STAFF,
    ("GET", "/api/programmes/{programme_id:int}/exports/requirements.csv"): STAFF,
    ("GET", "/api/programmes/{programme_id:int}/exports/weekly.csv"): STAFF,
    ("GET", "/api/exports/schools"): STAFF,
    ("GET", "/api/exports/school-attendance.csv"): STAFF,
    ("POST", "/api/weekly-reports/send"): MANAGERS,
    # Zoom reports and mark imports
    ("POST", "/api/sessions/{session_id:int}/zoom-report"): STAFF,
    ("POST", "/api/sessions/{session_id:int}/zoom-report/confirm"): STAFF,
    ("POST", "/api/mark-imports"): STAFF,
}

# Routes whose handler narrows the declared roles by the caller's link to the record; EXPECTED
# says who gets through in the test world (where the tutor teaches the session), and why here.
OBJECT_LEVEL: dict[tuple[str, str], str] = {
    ("POST", "/api/sessions/{session_id:int}/tutor-checkin"): "only the session's own tutors (403 not_a_tutor)",
}

# Query strings the matrix sends, where a role may list only what it is linked to.
QUERY: dict[tuple[str, str], dict[str, str]] = {
    ("GET", "/api/follow-ups"): {"session_id": "{session_id}"},  # tutors list by one of their sessions
}

QUERY[("GET", "/api/people/{person_id:int}/escalations")] = {"programme_id": "{programme_id}"}

# Bodies where the generated example would be refused before the handler looks the record up.
BODY: dict[tuple[str, str], Any] = {
    ("POST", "/api/auth/sign-in"): {"email": SPARE_EMAIL, "password": PASSWORD},
    ("POST", "/api/people/{person_id:int}/contacts"): {"kind": "emergency", "name": "Matrix",
                                                        "phone": "07700 900999"},
}
CSV = ("text/csv", b"first_name,last_name\r\nAva,Example\r\n")
RAW: dict[tuple[str, str], tuple[str, bytes]] = {
    ("POST", "/api/sessions/{session_id:int}/zoom-report"): CSV,  # reads text/csv without declaring raw_body
}

SOCKETS: dict[str, frozenset[Role]] = {
    "/ws/sessions/{session_id:int}": STAFF,
    "/ws/alerts": ADMIN_DSL,
    "/ws/events": frozenset({A, E}),
}

ACCESS_REFUSALS = {(401, "not_signed_in"), (403, "forbidden"), (403, "csrf_failed")}
WS_REFUSED = {4001, 4003}
WS_NOT_FOUND = {4003, 4004}


def endpoints() -> list[Endpoint]:
    return [ep for a in apis() for ep in a.endpoints]


def sockets() -> list[SocketEndpoint]:
    return [s for a in apis() for s in a.sockets]


def _entry(roles: frozenset[Role] | None) -> str:
    if roles is None:
        return "PUBLIC"
    for name, value in (("STAFF", STAFF), ("MANAGERS", MANAGERS), ("ADMIN", ADMIN), ("ADMIN_DSL", ADMIN_DSL)):
        if roles == value:
            return name
    return "frozenset({" + ", ".join(sorted(r.name for r in roles)) + "})"


def test_every_endpoint_has_a_matrix_entry_and_every_entry_an_endpoint() -> None:
    served = {(ep.method, ep.path): ep for ep in endpoints()}
    missing = [f'    ("{m}", "{p}"): {_entry(served[(m, p)].roles)},' for m, p in served if (m, p) not in EXPECTED]
    stale = [key for key in EXPECTED if key not in served]
    assert not missing, "routes with no entry in EXPECTED (review, then add):\n" + "\n".join(missing)
    assert not stale, f"entries in EXPECTED with no route: {stale}"


def test_every_websocket_has_a_matrix_entry_and_every_entry_a_websocket() -> None:
    served = {s.path for s in sockets()}
    assert served == set(SOCKETS), f"unlisted: {served - set(SOCKETS)}; gone: {set(SOCKETS) - served}"


def test_every_route_declares_the_roles_the_matrix_expects() -> None:
    wrong = []
    for ep in endpoints():
        expected = EXPECTED.get((ep.method, ep.path))
        declared: frozenset[Role] | str = PUBLIC if ep.roles is None else ep.roles
        narrowed = (ep.method, ep.path) in OBJECT_LEVEL and isinstance(expected, frozenset) \
            and isinstance(declared, frozenset) and expected < declared
        if expected is not None and expected != declared and not narrowed:
            wrong.append(f"{ep.method} {ep.path}: declared {_entry(ep.roles)}")
    assert not wrong, "\n".join(wrong)


@pytest.fixture
async def world(ctx: AppContext) -> World:
    return await build(ctx)


def _request(ep: Endpoint, world: World) -> dict[str, Any]:
    """Keyword arguments for httpx: the filled path, and a body that parses."""
    path, _ = world.fill(ep.path)
    kwargs: dict[str, Any] = {"method": ep.method, "url": path}
    query = QUERY.get((ep.method, ep.path))
    if query:
        kwargs["params"] = {k: world.fill(v)[0] for k, v in query.items()}
    key = (ep.method, ep.path)
    if key in BODY:
        kwargs["json"] = BODY[key]
    elif ep.body is not None:
        kwargs["json"] = example(ep.body)
    elif ep.raw_body is not None or key in RAW:
        ctype, content = RAW.get(key, (ep.raw_body or "", CSV[1]))
        kwargs["content"] = content
        kwargs["headers"] = {"content-type": ctype}
    return kwargs


async def _call(client: httpx.AsyncClient, ep: Endpoint, world: World, role: Role | None,
                token: str | None = None) -> tuple[int, str]:
    kwargs = _request(ep, world)
    auth = {"authorization": f"Bearer {token}"} if token else world.headers(role)
    kwargs["headers"] = {**kwargs.get("headers", {}), **auth}
    client.cookies.clear()  # only the token speaks (signing in through the matrix sets a cookie)
    response = await client.request(**kwargs)
    try:
        code = response.json().get("error", {}).get("code", "")
    except (ValueError, AttributeError):
        code = ""
    return response.status_code, str(code)


async def test_every_role_is_allowed_or_refused_as_the_matrix_says(client: httpx.AsyncClient, world: World) -> None:
    problems = []
    for ep in endpoints():
        expected = EXPECTED.get((ep.method, ep.path))
        if expected is None:
            continue  # reported by the completeness test
        # a public route ignores who calls: nobody and one role suffice (sign-in's argon2 check is slow)
        for role in (None, Role.ADMIN) if expected == PUBLIC else (None, *ROLE_ORDER):
            status, code = await _call(client, ep, world, role)
            who = role.value if role else "nobody"
            if status >= 500:
                problems.append(f"{ep.method} {ep.path} as {who}: server error {status}")
            elif expected == PUBLIC:
                if (status, code) in ACCESS_REFUSALS:
                    problems.append(f"{ep.method} {ep.path} is public but refused {who}: {status} {code}")
            elif role is not None and role in expected:
                if status in (401, 403):
                    problems.append(f"{ep.method} {ep.path}: {who} should be allowed, got {status} {code}")
            elif status != (401 if role is None else 403):
                problems.append(f"{ep.method} {ep.path}: {who} should be refused, got {status} {code}")
    assert not problems, "\n".join(problems)


async def test_another_organisations_admin_finds_none_of_this_organisations_records(
        client: httpx.AsyncClient, world: World) -> None:
    problems = []
    for ep in endpoints():
        path, unknown = world.fill(ep.path)
        if path == ep.path or ep.path.count("{") == len([n for n in ("kind", "record_type") if "{" + n in ep.path]):
            continue  # no record of this organisation is named in the path
        if unknown:
            problems.append(f"{ep.method} {ep.path}: add a record for {unknown} to tests/security/world.py")
            continue
        status, code = await _call(client, ep, world, None, world.other_admin_token)
        if status not in (403, 404):
            problems.append(f"{ep.method} {ep.path}: another organisation's admin got {status} {code}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", sorted(SOCKETS))
async def test_each_websocket_admits_exactly_the_roles_the_matrix_says(app: Any, world: World, path: str) -> None:
    allowed = SOCKETS[path]
    url, _ = world.fill(path)
    origin = {"origin": "http://testserver"}
    seen = {"nobody": (await first_answer(app, url, origin)).closed}
    for role in ROLE_ORDER:
        opening = await first_answer(app, url, {**origin, **world.headers(role)})
        seen[role.value] = opening.closed
    expected = {"nobody": "refused 4001", **{r.value: "admitted" if r in allowed else "refused 4003"
                                             for r in ROLE_ORDER}}
    got = {who: ("admitted" if code is None else f"refused {code}") for who, code in seen.items()}
    assert got == expected


@pytest.mark.parametrize("path", sorted(p for p in SOCKETS if "{" in p))
async def test_another_organisations_admin_cannot_open_this_organisations_websockets(
        app: Any, world: World, path: str) -> None:
    url, unknown = world.fill(path)
    opening = await first_answer(app, url, {"origin": "http://testserver",
                                            "authorization": f"Bearer {world.other_admin_token}"})
    assert not unknown and opening.closed in WS_NOT_FOUND
