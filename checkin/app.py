"""The app factory: routes, middleware, and a lifespan that owns every long-lived resource."""

from __future__ import annotations

import asyncio
import contextlib
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
from checkin.services.orgs import ensure_org
from checkin.settings import Settings
from checkin.storage.database import Database
from checkin.web import auth_routes
from checkin.web.endpoint import Api
from checkin.web.errors import HANDLERS
from checkin.web.headers import SecurityHeaders
from checkin.web.openapi import document

STATIC = Path(__file__).resolve().parent.parent / "static"
log = logging.getLogger(__name__)


def apis() -> list[Api]:
    """Every module's endpoints; a route not listed here is not served."""
    return [auth_routes.api]


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
    return []
