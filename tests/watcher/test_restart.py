"""Deadlines that came due while the app was down fire once, on start-up, and say how late they are."""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from checkin.app import create_app
from checkin.clock import DrivenClock, system_clock
from checkin.context import AppContext
from checkin.settings import Settings
from checkin.storage.tables import alerts, deadlines, mark_history
from checkin.watcher import run_watcher
from tests.watcher.scenarios import alerts_of, ap_session, rows
from tests.watcher.test_loop import until

ROOT = Path(__file__).resolve().parents[2]


async def _all_fired(ctx: AppContext) -> bool:
    pending = await rows(ctx, deadlines, deadlines.c.fired_at.is_(None), deadlines.c.due_at <= ctx.clock())
    return not pending


async def _snapshot(ctx: AppContext) -> tuple[Counter[tuple[str, Any]], int, list[Any]]:
    fired = await rows(ctx, deadlines, deadlines.c.fired_at.is_not(None))
    raised = Counter((a.rule_id, a.session_id) for a in await rows(ctx, alerts))
    return raised, len(await rows(ctx, mark_history)), sorted((d.id, d.fired_at) for d in fired)


async def test_deadlines_due_while_the_app_was_stopped_fire_exactly_once_after_restarts(
        settings: Settings, clock: DrivenClock) -> None:
    first = create_app(settings, clock)
    async with first.router.lifespan_context(first):
        ctx: AppContext = first.state.ctx
        start = clock() + timedelta(minutes=5)
        one = await ap_session(ctx, start, first="Ava")
        two = await ap_session(ctx, start + timedelta(minutes=10), first="Ben")
        assert await rows(ctx, deadlines, deadlines.c.fired_at.is_not(None)) == []

    clock.now = start + timedelta(hours=2)
    second = create_app(settings, clock)
    async with second.router.lifespan_context(second):
        ctx = second.state.ctx
        await until(lambda: _all_fired(ctx))
        after_restart = await _snapshot(ctx)
        late = {a.rule_id: a.late_by_seconds for a in await rows(ctx, alerts, alerts.c.session_id == one.session_id)}

    third = create_app(settings, clock)
    async with third.router.lifespan_context(third):
        ctx = third.state.ctx
        await until(lambda: _passes(ctx))
        after_second_restart = await _snapshot(ctx)

    raised, marks_written, _ = after_restart
    assert raised == {("AP-NOSHOW", one.session_id): 1, ("AP-DSL", one.session_id): 1,
                      ("AP-NOSHOW", two.session_id): 1, ("AP-DSL", two.session_id): 1}
    assert marks_written == 2
    assert late == {"AP-NOSHOW": 105 * 60, "AP-DSL": 60 * 60}
    assert after_second_restart == after_restart


async def _passes(ctx: AppContext) -> bool:
    watcher = ctx.extras.get("watcher")
    return watcher is not None and watcher.stats.wakeups >= 1


async def test_after_a_crash_the_restarted_app_takes_the_dead_watchers_lease_at_once(settings: Settings) -> None:
    app = create_app(settings, system_clock, background=False)
    async with app.router.lifespan_context(app):
        ctx: AppContext = app.state.ctx
        crashed = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.watcher.watcher_worker", "hold", settings.database_url, cwd=ROOT,
            stdout=asyncio.subprocess.PIPE)
        assert crashed.stdout is not None
        assert (await asyncio.wait_for(crashed.stdout.readline(), 30)).strip() == b"ready"
        crashed.kill()
        await crashed.wait()
        start = system_clock() - timedelta(minutes=20)
        s = await ap_session(ctx, start, plan_at=start)  # its no-show deadline came due while nobody watched
        async with run_watcher(ctx):
            took = await until(lambda: _alerted(ctx, s.session_id), within=10.0)
    assert took < 10.0  # the dead process's lease would otherwise hold the watcher off for a minute


async def _alerted(ctx: AppContext, session_id: int) -> bool:
    return bool(await alerts_of(ctx, session_id, "AP-NOSHOW"))
