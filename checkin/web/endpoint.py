"""Declared endpoints: auth, CSRF, roles, body and query parsing in one place for every route.

Each web module fills an `Api` with its endpoints; the app factory mounts them, the OpenAPI
document is generated from them, and the access-control matrix test walks them.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from checkin.context import AppContext
from checkin.domain.errors import DomainError, Forbidden, Invalid, NotFound
from checkin.domain.model import Role
from checkin.domain.principal import Principal
from checkin.web.fields import Field, Int, Obj
from checkin.web.session import current_principal

PUBLIC: frozenset[Role] = frozenset()
STAFF = frozenset(Role)
MANAGERS = frozenset({Role.ADMIN, Role.PROGRAMME_MANAGER})
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
MAX_ID = 2**31 - 1  # ids are 32-bit INTEGER columns


@dataclass
class Call:
    """What a handler gets: the parsed request and the app's resources."""

    request: Request
    ctx: AppContext
    principal: Principal | None
    body: dict[str, Any]
    query: dict[str, Any]
    params: dict[str, Any]

    @property
    def actor(self) -> Principal:
        if self.principal is None:
            raise DomainError("not_signed_in", "Sign in first.", status=401)
        return self.principal

    @property
    def now(self) -> Any:
        return self.ctx.clock()


Handler = Callable[[Call], Awaitable[Any]]


@dataclass
class Endpoint:
    method: str
    path: str
    handler: Handler
    roles: frozenset[Role] | None  # None: public
    summary: str
    tag: str
    body: Obj | None = None
    query: Obj | None = None
    status: int = 200
    raw_body: str | None = None  # a content type read as bytes (CSV uploads)
    max_body: int | None = None
    raw_types: frozenset[str] = frozenset()  # further content types accepted for a raw body
    max_body_setting: str | None = None  # a Settings field holding this route's body limit


@dataclass
class SocketEndpoint:
    path: str
    handler: Callable[..., Awaitable[None]]
    roles: frozenset[Role] | None
    summary: str


@dataclass
class Api:
    endpoints: list[Endpoint] = field(default_factory=list)
    sockets: list[SocketEndpoint] = field(default_factory=list)

    def route(self, method: str, path: str, *, roles: frozenset[Role] | None, summary: str, tag: str,
              body: Obj | None = None, query: Obj | None = None, status: int = 200,
              raw_body: str | None = None, max_body: int | None = None, raw_types: frozenset[str] = frozenset(),
              max_body_setting: str | None = None) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.endpoints.append(Endpoint(method, path, handler, roles, summary, tag, body, query, status,
                                           raw_body, max_body, raw_types, max_body_setting))
            return handler
        return register

    def websocket(self, path: str, *, roles: frozenset[Role] | None,
                  summary: str) -> Callable[[Callable[..., Awaitable[None]]], Callable[..., Awaitable[None]]]:
        def register(handler: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
            self.sockets.append(SocketEndpoint(path, handler, roles, summary))
            return handler
        return register

    def routes(self) -> list[Route | WebSocketRoute]:
        out: list[Route | WebSocketRoute] = [
            Route(e.path, _wrap(e), methods=[e.method], name=f"{e.method} {e.path}") for e in self.endpoints
        ]
        out += [WebSocketRoute(s.path, s.handler) for s in self.sockets]
        return out


def _wrap(ep: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        ctx: AppContext = request.app.state.ctx
        principal = await current_principal(request, ctx)
        if ep.roles is not None:
            if principal is None:
                raise DomainError("not_signed_in", "Sign in first.", status=401)
            if principal.role not in ep.roles:
                raise Forbidden("forbidden", "Your role cannot do this.")
        if (ep.roles is not None and principal is not None and principal.via == "cookie"
                and request.method not in SAFE_METHODS
                and request.headers.get("x-csrf-token", "") != principal.csrf_token):
            raise Forbidden("csrf_failed", "The form's security token is missing or stale; reload the page.")
        if any(isinstance(v, int) and v > MAX_ID for v in request.path_params.values()):
            raise NotFound("not_found", "No such record.")  # past any id column, on either backend
        body: dict[str, Any] = {}
        limit = ep.max_body or int(getattr(ctx.settings, ep.max_body_setting or "max_body_bytes"))
        if ep.body is not None:
            body = ep.body.parse(await _json_body(request, limit), "", partial=request.method == "PATCH")
        elif ep.raw_body is not None:
            ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if ctype not in {ep.raw_body, *ep.raw_types}:
                raise DomainError("unsupported_media_type", f"Send the body as {ep.raw_body}.", status=415)
            body = {"data": await read_limited(request, limit)}
        query = parse_query(ep.query, request) if ep.query is not None else {}
        call = Call(request, ctx, principal, body, query, dict(request.path_params))
        result = await ep.handler(call)
        if isinstance(result, Response):
            return result
        return JSONResponse(result, status_code=ep.status)

    return endpoint


async def read_limited(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 past `limit` bytes without reading the rest."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise DomainError("body_too_large", f"The request body is over {limit} bytes.", status=413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise DomainError("body_too_large", f"The request body is over {limit} bytes.", status=413)
        chunks.append(chunk)
    return b"".join(chunks)


async def _json_body(request: Request, limit: int) -> Any:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise DomainError("unsupported_media_type", "Send the body as application/json.", status=415)
    raw = await read_limited(request, limit)
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DomainError("malformed_json", "The body is not valid JSON.", status=400) from exc


def parse_query(schema: Obj, request: Request) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for name, f in schema.fields.items():
        if name in request.query_params:
            raw[name] = _coerce(f, request.query_params[name], name)
    return schema.parse(raw, "")


def _coerce(f: Field, value: str, name: str) -> Any:
    if isinstance(f, Int):
        try:
            return int(value)
        except ValueError as exc:
            raise Invalid("invalid_field", f"{name} must be a whole number", name) from exc
    if f.schema().get("type") == "boolean":
        if value not in ("true", "false"):
            raise Invalid("invalid_field", f"{name} must be true or false", name)
        return value == "true"
    return value
