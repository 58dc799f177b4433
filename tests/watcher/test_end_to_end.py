"""The whole app on the real clock: sessions that began just under a window ago produce their alerts live."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from checkin.app import create_app
from checkin.clock import system_clock
from checkin.context import AppContext
from checkin.live.hub import Subscription
from checkin.settings import Settings
from checkin.storage.events import org_channel
from tests.watcher.scenarios import GRAN_PHONE, MUM_PHONE, alerts_of, ap_session


@pytest.fixture
async def live_ctx(settings: Settings) -> AsyncIterator[AppContext]:
    """The app with its background loops (watcher included) running on the real clock in this loop."""
    app = create_app(settings, system_clock)
    async with app.router.lifespan_context(app):
        yield app.state.ctx


async def next_alert(sub: Subscription, rule_id: str, within: float) -> dict[str, Any]:
    """The first live "alert" event of `rule_id` on the organisation's channel."""
    async def wait() -> dict[str, Any]:
        while True:
            event = await sub.get()
            assert event is not None, "the live subscription was closed"
            if event["type"] == "alert" and event["data"]["rule_id"] == rule_id:
                return event

    return await asyncio.wait_for(wait(), within)


async def test_an_ap_pupil_unmarked_near_minute_15_raises_the_no_show_live_with_emergency_phones(
        live_ctx: AppContext) -> None:
    sub = live_ctx.hub.subscribe(org_channel(live_ctx.extras["org_id"]))
    began = time.monotonic()
    start = system_clock() - timedelta(minutes=14, seconds=50)
    s = await ap_session(live_ctx, start)
    event = await next_alert(sub, "AP-NOSHOW", within=15)
    took = time.monotonic() - began
    [alert] = await alerts_of(live_ctx, s.session_id, "AP-NOSHOW")
    phones = {c["phone"] for c in alert.facts["emergency_contacts"]}
    assert event["data"]["id"] == alert.id
    assert took <= 12.5 and alert.created_at >= start + timedelta(minutes=15)
    assert phones == {MUM_PHONE, GRAN_PHONE} and MUM_PHONE in alert.why


async def test_with_no_follow_up_logged_a_session_near_minute_60_raises_the_dsl_alert_live(
        live_ctx: AppContext) -> None:
    sub = live_ctx.hub.subscribe(org_channel(live_ctx.extras["org_id"]))
    began = time.monotonic()
    start = system_clock() - timedelta(minutes=59, seconds=50)
    s = await ap_session(live_ctx, start)
    event = await next_alert(sub, "AP-DSL", within=15)
    took = time.monotonic() - began
    [alert] = await alerts_of(live_ctx, s.session_id, "AP-DSL")
    assert (event["data"]["id"], event["data"]["severity"]) == (alert.id, "safeguarding")
    assert took <= 12.5 and alert.created_at >= start + timedelta(minutes=60)
    assert alert.facts["follow_ups_logged"] == 0
