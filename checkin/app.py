"""The app factory: routes, middleware, and a lifespan that owns every long-lived resource."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from checkin.clock import Clock, system_clock
from checkin.context import AppContext
from checkin.live.hub import Hub
from checkin.live.pg_relay import run_relay
from checkin.services.backup import hold_running_lock
from checkin.services.dispatch import run_dispatcher
from checkin.services.orgs import ensure_org
from checkin.services.retention import run_retention
from checkin.services.weekly_report import run_weekly_reports
from checkin.settings import Settings
from checkin.storage.database import Database
from checkin.watcher import run_watcher
from checkin.web import (
    admin_routes,
    alert_routes,
    alert_socket,
    audit_routes,
    auth_routes,
    checkin_routes,
    deadline_routes,
    events_routes,
    followup_routes,
    import_routes,
    notice_routes,
    people_routes,
    privacy_routes,
    programme_routes,
    register_routes,
    report_routes,
    session_routes,
    zoom_routes,
)
from checkin.web.endpoint import Api
from checkin.web.errors import HANDLERS
from checkin.web.headers import SecurityHeaders
from checkin.web.openapi import document

STATIC = Path(__file__).resolve().parent.parent / "static"
log = logging.getLogger(__name__)


def apis() -> list[Api]:
    """Every module's endpoints; a route not listed here is not served.

    Starlette tries routes in order, about a microsecond each: the phones' check-in
    routes, the peak's hottest path, come first (at 46th a scan spent ~50 µs finding its route).
    """
    return [
        checkin_routes.api, auth_routes.api, import_routes.api, register_routes.api,
        admin_routes.api, programme_routes.api, session_routes.api, people_routes.api,
        deadline_routes.api, audit_routes.api, privacy_routes.api,
        alert_routes.api, alert_socket.api, followup_routes.api, events_routes.api,
        notice_routes.api, report_routes.api, zoom_routes.api,
    ]


def settle_heap() -> None:
    """Puts everything alive at start-up out of the garbage collector's sight (gc.freeze), once per process.

    Requests allocate many short-lived objects, so the collector runs often, and each full
    collection walks every tracked object: the modules, the tables and SQLAlchemy's caches, that
    live as long as the process. Frozen, they are not walked again. Call it just before serving.
    """
    gc.collect()
    gc.freeze()


def create_app(settings: Settings, clock: Clock = system_clock, *, background: bool = True) -> Starlette:
    """Builds the app; `background=False` leaves the watcher and dispatcher to the test driving them."""
    all_apis = apis()
    endpoints = [ep for a in all_apis for ep in a.endpoints]
    openapi = document(endpoints)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(settings.database_url)
        await db.start()
        async with httpx.AsyncClient(timeout=10.0) as http:
            ctx = AppContext(settings, db, Hub(settings.ws_queue_size), clock, http)
            ctx.extras["org_id"] = await ensure_org(db, "My organisation", settings.timezone, clock())
            app.state.ctx = ctx
            app.state.loop = asyncio.get_running_loop()
            try:
                async with contextlib.AsyncExitStack() as stack:
                    ctx.extras["relay"] = await stack.enter_async_context(run_relay(db, ctx.hub))
                    if background:
                        for starter in background_tasks():
                            await stack.enter_async_context(starter(ctx))
                    yield
            finally:
                await db.close()

    async def openapi_json(request: Request) -> Response:
        return JSONResponse(openapi)

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True})

    routes: list[BaseRoute] = [Route("/api/openapi.json", openapi_json), Route("/healthz", health)]
    for a in all_apis:
        routes += a.routes()
    routes.append(Mount("/", StaticFiles(directory=STATIC, html=True), name="static"))
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers=HANDLERS,
                    middleware=[Middleware(SecurityHeaders)])
    app.state.apis = all_apis
    return app


def background_tasks() -> list[Any]:
    """Async context managers that run the app's background loops for its lifetime."""
    return [run_dispatcher, run_watcher, run_retention, hold_running_lock, run_weekly_reports]
