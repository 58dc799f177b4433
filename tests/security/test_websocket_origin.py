"""Every WebSocket refuses a page from another origin (close 4003), even with a valid sign-in."""

from __future__ import annotations

from typing import Any

import pytest

from checkin.app import apis
from checkin.context import AppContext
from checkin.domain.model import Role
from tests import factories
from tests.security.asgi_ws import first_answer
from tests.security.records import bearer
from tests.security.world import PARAM

PATHS = sorted(s.path for a in apis() for s in a.sockets)


async def _url(ctx: AppContext, path: str) -> str:
    programme_id = await factories.programme(ctx)
    session_id = await factories.session(ctx, programme_id, ctx.clock())
    return PARAM.sub(lambda m: str(session_id), path)


def test_the_app_has_websockets_to_check() -> None:
    assert "/ws/sessions/{session_id:int}" in PATHS


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://testserver.evil.example",
                                    "https://testserver:8443"])
async def test_a_websocket_from_another_origin_is_closed_with_4003(app: Any, ctx: AppContext, path: str,
                                                                  origin: str) -> None:
    admin = await bearer(ctx, "ada.admin@example.org", Role.ADMIN)
    opening = await first_answer(app, await _url(ctx, path), {**admin, "origin": origin})
    assert opening.closed == 4003


@pytest.mark.parametrize("path", PATHS)
async def test_a_websocket_with_no_origin_is_closed_with_4003(app: Any, ctx: AppContext, path: str) -> None:
    admin = await bearer(ctx, "ada.admin@example.org", Role.ADMIN)
    assert (await first_answer(app, await _url(ctx, path), admin)).closed == 4003


@pytest.mark.parametrize("path", PATHS)
async def test_a_websocket_from_the_apps_own_origin_is_admitted(app: Any, ctx: AppContext, path: str) -> None:
    admin = await bearer(ctx, "ada.admin@example.org", Role.ADMIN)
    opening = await first_answer(app, await _url(ctx, path), {**admin, "origin": "http://testserver"})
    assert opening.closed is None and opening.message is not None
