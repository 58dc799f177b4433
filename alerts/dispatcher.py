"""Drains the outbox: claims due deliveries, sends them, records every attempt."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from alerts.channel import Channel
from alerts.result import SendResult, elapsed_ms
from alerts.retry import RetrySchedule
from alerts.store import Claimed, DeliveryStore

log = logging.getLogger(__name__)


class Dispatcher:
    """At-least-once delivery from a DeliveryStore through named channels."""

    def __init__(
        self,
        store: DeliveryStore,
        channels: Mapping[str, Channel],
        schedule: RetrySchedule,
        clock: Callable[[], datetime],
        rand: Callable[[], float] = random.random,
        batch: int = 50,
        lease_s: float = 60,
        concurrency: int = 10,
        idle_s: float = 5.0,
    ) -> None:
        self._store = store
        self._channels = channels
        self._schedule = schedule
        self._clock = clock
        self._rand = rand
        self._batch = batch
        self._lease = timedelta(seconds=lease_s)
        self._idle_s = idle_s
        self._slots = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Ask the loop to look for due deliveries now (e.g. after a new alert is committed)."""
        self._wake.set()

    async def run_once(self) -> int:
        """Claim one batch, send it concurrently, record each attempt; return how many were recorded."""
        now = self._clock()
        lease_until = now + self._lease
        claimed = await self._store.claim_due(now, self._batch, lease_until)
        outcomes = await asyncio.gather(
            *(self._deliver(c, lease_until) for c in claimed), return_exceptions=True
        )
        for item, outcome in zip(claimed, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                # Unrecorded: the lease expires and the delivery is claimed and sent again.
                log.error("recording delivery %s failed", item.message.delivery_id, exc_info=outcome)
        return sum(1 for outcome in outcomes if outcome is True)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until stop is set; sleep until the next due delivery, at most idle_s, or a wake()."""
        while not stop.is_set():
            self._wake.clear()
            try:
                if await self.run_once():
                    continue
                delay = await self._idle_delay()
            except Exception:
                log.exception("dispatcher pass failed; trying again shortly")
                delay = self._idle_s
            await _first_of(stop, self._wake, delay)

    async def _idle_delay(self) -> float:
        due = await self._store.next_due_at()
        if due is None:
            return self._idle_s
        return min(self._idle_s, max(0.0, (due - self._clock()).total_seconds()))

    async def _deliver(self, claimed: Claimed, lease_until: datetime) -> bool:
        async with self._slots:
            message = claimed.message
            if self._clock() >= lease_until:
                # Waited so long for a slot that another dispatcher may hold it now: leave it to them.
                return False
            attempt = claimed.attempts + 1
            started_at = self._clock()
            started = time.perf_counter()
            result = await self._send(message.channel, claimed, lease_until)
            duration_ms = elapsed_ms(started)
            next_at = None
            if result.outcome == "retry":
                next_at = self._schedule.next_attempt_at(attempt, self._clock(), self._rand())
            await self._store.record_attempt(
                message.delivery_id, attempt, started_at, duration_ms, result, next_at
            )
            return True

    async def _send(self, channel_name: str, claimed: Claimed, lease_until: datetime) -> SendResult:
        channel = self._channels.get(channel_name)
        if channel is None:
            return SendResult("failed", f"no_channel: {channel_name}")
        # Bounded by the lease so a hung send cannot hold a slot past the point it may be re-claimed.
        budget = max(0.0, (lease_until - self._clock()).total_seconds())
        try:
            async with asyncio.timeout(budget):
                return await channel.send(claimed.message)
        except Exception as exc:  # a bad delivery must never stop the loop
            return SendResult("retry", type(exc).__name__)


async def _first_of(stop: asyncio.Event, wake: asyncio.Event, within_s: float) -> None:
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(waiters, timeout=within_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
