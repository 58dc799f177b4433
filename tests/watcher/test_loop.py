"""The loop: it sleeps until the next deadline, wakes when told, and fires in the background."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta

from checkin.clock import DrivenClock
from checkin.context import AppContext
from checkin.services.completion_queue import COALESCE_SECONDS
from checkin.watcher.loop import Watcher, run_watcher
from tests.watcher.scenarios import alerts_of, ap_session


async def until(check: Callable[[], Awaitable[bool]], within: float = 5.0) -> float:
    """Seconds until `check` holds; fails the test after `within` seconds."""
    began = time.monotonic()
    while not await check():
        assert time.monotonic() - began < within, "condition not met in time"
        await asyncio.sleep(0.02)
    return time.monotonic() - began


async def test_the_watcher_sleeps_until_the_earliest_deadline(ctx: AppContext, clock: DrivenClock) -> None:
    await ap_session(ctx, clock() - timedelta(minutes=14, seconds=53))
    assert await Watcher(ctx).seconds_to_next() == 7.0


async def test_with_nothing_pending_the_watcher_sleeps_no_longer_than_its_cap(ctx: AppContext) -> None:
    assert await Watcher(ctx, cap_seconds=12.0).seconds_to_next() == 12.0


async def test_a_wake_after_the_clock_moves_fires_the_due_deadline_at_once(
        ctx: AppContext, clock: DrivenClock) -> None:
    start = clock() + timedelta(minutes=5)
    s = await ap_session(ctx, start)
    async with run_watcher(ctx) as watcher:
        assert watcher is not None
        await until(lambda: _passes(watcher, 1))
        clock.now = start + timedelta(minutes=15)
        ctx.wake("watcher")
        took = await until(lambda: _has_alert(ctx, s.session_id), within=3.0)
    assert took < 3.0


async def test_a_deadline_written_by_a_service_wakes_the_sleeping_watcher(
        ctx: AppContext, clock: DrivenClock) -> None:
    async with run_watcher(ctx) as watcher:
        assert watcher is not None
        await until(lambda: _passes(watcher, 1))
        start = clock() - timedelta(minutes=20)
        s = await ap_session(ctx, start, plan_at=start)  # planned back then, so its +15 window is already due
        await until(lambda: _has_alert(ctx, s.session_id), within=3.0)


async def test_a_watcher_switched_off_in_settings_does_not_run(ctx: AppContext) -> None:
    off = replace(ctx, settings=replace(ctx.settings, watcher=False))
    async with run_watcher(off) as watcher:
        assert (watcher, "watcher" in off.wakers) == (None, False)


async def test_stopping_the_watcher_hands_its_wake_up_back(ctx: AppContext) -> None:
    async with run_watcher(ctx) as watcher:
        assert watcher is not None and ctx.wakers["watcher"] == watcher.wake
    assert "watcher" not in ctx.wakers


async def _passes(watcher: Watcher, n: int) -> bool:
    return watcher.stats.wakeups >= n


async def _has_alert(ctx: AppContext, session_id: int) -> bool:
    return bool(await alerts_of(ctx, session_id, "AP-NOSHOW"))


async def _sleeping(watcher: Watcher, seconds: float) -> asyncio.Task[None]:
    task = asyncio.create_task(watcher._sleep(seconds))
    await asyncio.sleep(0)  # let it start sleeping
    return task


async def test_a_queued_reevaluation_wakes_a_watcher_sleeping_past_its_due_time(ctx: AppContext) -> None:
    watcher = Watcher(ctx, cap_seconds=30.0)
    sleeping = await _sleeping(watcher, 30.0)
    watcher.wake_for_queue()
    await asyncio.wait_for(sleeping, 1.0)


async def test_a_queued_reevaluation_leaves_a_watcher_waking_sooner_asleep(ctx: AppContext) -> None:
    watcher = Watcher(ctx, cap_seconds=30.0)
    sleeping = await _sleeping(watcher, COALESCE_SECONDS / 2)
    watcher.wake_for_queue()
    await asyncio.sleep(0.05)
    assert not sleeping.done()
    sleeping.cancel()
