"""The deadline loop: sleep until the earliest unfired deadline or a wake-up, then fire what is due.

Each pass claims due rows in units of `batch_size` (one transaction each) until none are
left, so the work grows with the number of due rows and never with the number of sessions;
between passes it asks one indexed question (the earliest unfired due time) and sleeps until
then, at most `cap_seconds`. Services call `ctx.wake("watcher")` after writing a deadline or
a mark, so a new or moved deadline is seen at once. A wake-up with nothing due only reads, so
an idle watcher never takes SQLite's write lock. The first pass after start-up fires, once,
everything that came due while the watcher was down; the rules say how late.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from checkin.context import AppContext
from checkin.services.completion_queue import COALESCE_SECONDS, QUEUED
from checkin.services.completion_queue import RULE_ID as COMPLETION
from checkin.storage.database import Tx
from checkin.watcher.claim import Lease, new_holder, next_due
from checkin.watcher.runner import QUEUE_LIMIT, Pass, fire_due

log = logging.getLogger(__name__)
WAKER = "watcher"
BUSY_ELSEWHERE_SECONDS = 0.25
BATCH_SIZE = 10


@dataclass
class WatcherStats:
    wakeups: int = 0
    passes: int = 0
    fired: int = 0
    reevaluated: int = 0  # of those fired, queued completion re-evaluations (deleted once done, so rowless)
    failed: int = 0
    last_pass_at: datetime | None = None
    errors: int = 0
    lease_held: bool = False
    holder: str = ""


class Watcher:
    """One process's watcher; on SQLite it fires only while it holds the lease."""

    def __init__(self, ctx: AppContext, *, batch_size: int | None = None, cap_seconds: float = 30.0,
                 lease_ttl: float = 60.0, holder: str | None = None, queue_batch_size: int | None = None) -> None:
        self.ctx = ctx
        self.holder = holder or new_holder()
        # Small units: an alert is only seen once its unit commits, so a unit of n firings holds the first
        # one back by n-1 firings (~25 ms each), and on SQLite the writer is shared with the tablets. A
        # unit's own cost (one claim query and a commit) is small beside one firing's ~50 statements.
        self.batch_size = batch_size or BATCH_SIZE
        self.queue_batch_size = queue_batch_size or QUEUE_LIMIT
        self.cap = cap_seconds
        self.lease = Lease(ctx.db, self.holder, lease_ttl) if ctx.db.sqlite else None
        self.stats = WatcherStats(holder=self.holder)
        self.last_claimed = 0
        self._woken = asyncio.Event()
        self._sleep_ends: float | None = None  # the loop time a sleep ends, while sleeping

    def wake(self) -> None:
        self._woken.set()

    def wake_for_queue(self) -> None:
        """A re-evaluation was queued: wake only if sleeping past its due time.

        Every changed mark queues one, hundreds a second under load; each full wake-up costs a
        read of the earliest due time, which a watcher already waking sooner does not need.
        """
        if self._sleep_ends is None or self._sleep_ends > asyncio.get_running_loop().time() + COALESCE_SECONDS:
            self._woken.set()

    async def fire_due_now(self) -> int:
        """One pass: fires everything due by the clock's now, unit by unit; returns how many fired.

        On SQLite it first takes (or renews) the lease, and fires nothing while another process holds it.
        """
        fired = self.last_claimed = 0
        if not await self._hold_lease():
            return 0
        while True:
            now = self.ctx.clock()

            async def work(tx: Tx, now: datetime = now) -> Pass:
                return await fire_due(tx, self.ctx, now, limit=self.batch_size, holder=self.holder,
                                      lease=self.lease is not None, queue_limit=self.queue_batch_size)

            result = await self.ctx.db.write(work)
            fired_now = sum(1 for f in result.fired if f.fired)
            fired += fired_now
            self.stats.fired += fired_now
            self.stats.reevaluated += sum(1 for f in result.fired if f.fired and f.rule_id == COMPLETION)
            self.last_claimed += result.claimed
            self.stats.failed += sum(1 for f in result.fired if not f.fired or f.result.get("outcome") == "failed")
            if result.lease_lost:
                self.stats.lease_held = False
                if self.lease is not None:
                    self.lease.expires_at = None
                break
            if not result.full:
                break
        self.stats.passes += 1
        self.stats.last_pass_at = self.ctx.clock()
        return fired

    async def earliest(self) -> datetime | None:
        """The earliest unfired due time, read on a reader connection (no write lock taken)."""
        async with self.ctx.db.read() as conn:
            return await next_due(conn, self.ctx.clock())

    def _wait_for(self, due: datetime | None) -> float:
        wait = self.cap if due is None else min(self.cap, max((due - self.ctx.clock()).total_seconds(), 0.0))
        if self.lease is not None:
            wait = min(wait, self.lease.ttl.total_seconds() / 3)  # renew well before it lapses
        return wait

    async def seconds_to_next(self) -> float:
        """How long to sleep: until the earliest unfired deadline, at most the cap."""
        return self._wait_for(await self.earliest())

    async def step(self) -> float:
        """One wake-up: fire what is due (a write unit only when something is), then say how long to sleep."""
        self.stats.wakeups += 1
        if not await self._hold_lease():
            return self.lease.ttl.total_seconds() / 3 if self.lease else self.cap
        due = await self.earliest()
        if due is None or due > self.ctx.clock():
            return self._wait_for(due)
        await self.fire_due_now()
        due = await self.earliest()
        wait = self._wait_for(due)
        if wait == 0 and not self.last_claimed:
            # Due rows this pass could not claim are locked by another instance, which fires
            # them; look again shortly rather than spin on them.
            wait = min(BUSY_ELSEWHERE_SECONDS, self.cap)
        return wait

    async def _hold_lease(self) -> bool:
        if self.lease is None:
            return True
        if not self.lease.fresh(self.lease.ttl * 2 / 3):
            await self.lease.acquire()
        self.stats.lease_held = self.lease.fresh(timedelta(0))
        return self.stats.lease_held

    async def run(self) -> None:
        """Runs until cancelled; an error in a pass is logged and retried after a pause, never fatal."""
        while True:
            self._woken.clear()
            try:
                wait = await self.step()
            except asyncio.CancelledError:
                raise
            except Exception:
                self.stats.errors += 1
                log.exception("watcher pass failed")
                wait = min(5.0, self.cap)
            await self._sleep(wait)

    async def _sleep(self, seconds: float) -> None:
        """Until woken or `seconds` pass; asyncio.timeout, as 3.11's wait_for can swallow a cancellation."""
        if seconds <= 0:
            return
        self._sleep_ends = asyncio.get_running_loop().time() + seconds
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await self._woken.wait()
        finally:
            self._sleep_ends = None

    async def stop(self) -> None:
        if self.lease is not None and self.stats.lease_held:
            with contextlib.suppress(Exception):
                await self.lease.release()
            self.stats.lease_held = False


@contextlib.asynccontextmanager
async def run_watcher(ctx: AppContext, *, batch_size: int | None = None, cap_seconds: float = 30.0,
                      lease_ttl: float = 60.0, holder: str | None = None) -> AsyncIterator[Watcher | None]:
    """Runs the watcher for the block's lifetime (unless settings.watcher is off) and wires ctx.wake("watcher")."""
    if not ctx.settings.watcher:
        yield None
        return
    watcher = Watcher(ctx, batch_size=batch_size, cap_seconds=cap_seconds, lease_ttl=lease_ttl, holder=holder)
    ctx.wakers[WAKER] = watcher.wake
    ctx.wakers[QUEUED] = watcher.wake_for_queue
    ctx.extras[WAKER] = watcher
    task = asyncio.create_task(watcher.run(), name="checkin-watcher")
    try:
        yield watcher
    finally:
        while not task.done():  # re-cancel should a cancellation ever be lost inside the loop
            task.cancel()
            await asyncio.wait({task}, timeout=1.0)
        if not task.cancelled() and task.exception() is not None:
            log.error("the watcher stopped on an error", exc_info=task.exception())
        if ctx.wakers.get(WAKER) == watcher.wake:
            del ctx.wakers[WAKER]
        if ctx.wakers.get(QUEUED) == watcher.wake_for_queue:
            del ctx.wakers[QUEUED]
        ctx.extras.pop(WAKER, None)
        await watcher.stop()


__all__ = ["Watcher", "WatcherStats", "run_watcher"]
