"""The dispatcher over the in-memory store with a driven clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from alerts.channel import Channel
from alerts.dispatcher import Dispatcher
from alerts.message import Message
from alerts.result import Outcome, SendResult
from alerts.retry import RetrySchedule
from alerts.store import Claimed
from tests.alerts.conftest import make_message
from tests.alerts.memory_store import MemoryStore

START = datetime(2025, 3, 10, 9, 15, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class ScriptedChannel:
    """Answers each send with the next scripted outcome, repeating the last one."""

    name = "email"

    def __init__(self, *outcomes: Outcome) -> None:
        self.outcomes = list(outcomes)
        self.sent: list[Message] = []

    async def send(self, message: Message) -> SendResult:
        self.sent.append(message)
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        return SendResult(outcome, "" if outcome == "sent" else f"scripted_{outcome}", 1.0)


class SignallingChannel:
    """Sends successfully and lets a test wait until a send has happened."""

    name = "email"

    def __init__(self) -> None:
        self.sending = asyncio.Event()

    async def send(self, message: Message) -> SendResult:
        self.sending.set()
        return SendResult("sent")


class BrokenChannel:
    name = "email"

    async def send(self, message: Message) -> SendResult:
        raise KeyError("a bug in the channel")


def message(n: int = 1, channel: str = "email") -> Message:
    return make_message(delivery_id=f"delivery-{n}", channel=channel)


def dispatcher_for(store: MemoryStore, clock: Clock, **channels: Channel) -> Dispatcher:
    return Dispatcher(store, channels, RetrySchedule(max_attempts=4), clock, rand=lambda: 0.5, lease_s=60)


async def drain(dispatcher: Dispatcher, store: MemoryStore, clock: Clock) -> None:
    """Run passes, moving the clock to each next due time, until nothing is pending."""
    for _ in range(100):
        await dispatcher.run_once()
        due = await store.next_due_at()
        if due is None:
            return
        clock.now = max(clock.now, due)
    raise AssertionError("deliveries still pending after 100 passes")


async def test_a_delivery_that_fails_twice_then_succeeds_is_attempted_three_times_and_ends_sent() -> None:
    store, clock = MemoryStore(), Clock()
    store.add(message(), START)
    channel = ScriptedChannel("retry", "retry", "sent")

    await drain(dispatcher_for(store, clock, email=channel), store, clock)

    row = store.rows["delivery-1"]
    assert row.status == "sent"
    assert [a.result.outcome for a in row.log] == ["retry", "retry", "sent"]
    assert [a.attempt for a in row.log] == [1, 2, 3]
    assert len(channel.sent) == 3


async def test_retries_wait_for_the_schedule() -> None:
    store, clock = MemoryStore(), Clock()
    store.add(message(), START)
    dispatcher = dispatcher_for(store, clock, email=ScriptedChannel("retry", "sent"))

    await dispatcher.run_once()
    clock.advance(22)
    early = await dispatcher.run_once()
    clock.advance(1)
    due = await dispatcher.run_once()

    assert store.rows["delivery-1"].log[0].next_attempt_at == START + timedelta(seconds=22.5)
    assert (early, due) == (0, 1)
    assert store.rows["delivery-1"].status == "sent"


async def test_a_delivery_that_always_fails_ends_failed_after_the_last_attempt() -> None:
    store, clock = MemoryStore(), Clock()
    store.add(message(), START)
    channel = ScriptedChannel("retry")

    await drain(dispatcher_for(store, clock, email=channel), store, clock)

    row = store.rows["delivery-1"]
    assert row.status == "failed"
    assert len(row.log) == 4
    assert [a.next_attempt_at is None for a in row.log] == [False, False, False, True]


async def test_every_attempt_is_recorded_with_its_time_duration_outcome_and_error() -> None:
    store, clock = MemoryStore(), Clock()
    store.add(message(), START)

    await drain(dispatcher_for(store, clock, email=ScriptedChannel("retry", "sent")), store, clock)

    first, second = store.rows["delivery-1"].log
    assert (first.started_at, first.result.outcome, first.result.error) == (START, "retry", "scripted_retry")
    assert second.started_at == first.next_attempt_at
    assert (second.result.outcome, second.result.error) == ("sent", "")
    assert first.duration_ms >= 0 and second.duration_ms >= 0


async def test_a_delivery_claimed_by_a_killed_process_is_sent_after_its_lease_expires() -> None:
    store, clock = MemoryStore(), Clock()
    store.add(message(), START)
    channel = ScriptedChannel("sent")
    dispatcher = dispatcher_for(store, clock, email=channel)
    # The killed process claimed it and never recorded anything.
    await store.claim_due(START, 10, START + timedelta(seconds=60))

    while_leased = await dispatcher.run_once()
    clock.advance(60)
    after_expiry = await dispatcher.run_once()

    assert (while_leased, after_expiry) == (0, 1)
    assert store.rows["delivery-1"].status == "sent"
    assert [a.attempt for a in store.rows["delivery-1"].log] == [1]


async def test_an_exception_from_a_channel_is_recorded_as_a_retry_named_after_its_class() -> None:
    store, clock = MemoryStore(), Clock()
    store.add(message(), START)

    processed = await dispatcher_for(store, clock, email=BrokenChannel()).run_once()

    [attempt] = store.rows["delivery-1"].log
    assert processed == 1
    assert (attempt.result.outcome, attempt.result.error) == ("retry", "KeyError")
    assert store.rows["delivery-1"].status == "pending"


async def test_a_broken_delivery_does_not_stop_the_others_in_its_batch() -> None:
    store, clock = MemoryStore(), Clock()
    store.add(message(1, "email"), START)
    store.add(message(2, "webhook"), START)

    processed = await dispatcher_for(store, clock, email=BrokenChannel(), webhook=ScriptedChannel("sent")).run_once()

    assert processed == 2
    assert store.rows["delivery-2"].status == "sent"


async def test_a_delivery_for_a_channel_that_is_not_set_up_fails() -> None:
    store, clock = MemoryStore(), Clock()
    store.add(message(1, "webhook"), START)

    await dispatcher_for(store, clock, email=ScriptedChannel("sent")).run_once()

    assert store.rows["delivery-1"].status == "failed"
    assert store.rows["delivery-1"].log[0].result.error == "no_channel: webhook"


async def test_a_disabled_endpoint_is_not_tried_again() -> None:
    store, clock = MemoryStore(), Clock()
    store.add(message(1, "webhook"), START)
    channel = ScriptedChannel("disabled")

    await drain(dispatcher_for(store, clock, webhook=channel), store, clock)

    assert store.rows["delivery-1"].status == "disabled"
    assert len(channel.sent) == 1
    assert store.disabled_endpoints == {"attendance.officer@example.org"}


async def test_no_more_sends_run_at_once_than_the_concurrency_allows() -> None:
    running, peak = 0, 0

    class SlowChannel:
        name = "email"

        async def send(self, message: Message) -> SendResult:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.01)
            running -= 1
            return SendResult("sent")

    store, clock = MemoryStore(), Clock()
    for n in range(7):
        store.add(message(n), START)
    dispatcher = Dispatcher(store, {"email": SlowChannel()}, RetrySchedule(), clock, concurrency=2)

    processed = await dispatcher.run_once()

    assert processed == 7
    assert peak == 2


async def test_a_delivery_whose_lease_ran_out_while_queued_is_left_for_the_next_claim() -> None:
    store, clock = MemoryStore(), Clock()

    class ClockEatingChannel:
        name = "email"

        async def send(self, message: Message) -> SendResult:
            clock.advance(61)
            return SendResult("sent")

    store.add(message(1), START)
    store.add(message(2), START + timedelta(seconds=1))
    clock.advance(1)
    dispatcher = Dispatcher(store, {"email": ClockEatingChannel()}, RetrySchedule(), clock, concurrency=1)

    first_pass = await dispatcher.run_once()
    second_pass = await dispatcher.run_once()

    assert (first_pass, second_pass) == (1, 1)
    assert [len(store.rows[f"delivery-{n}"].log) for n in (1, 2)] == [1, 1]


async def test_the_loop_delivers_when_woken_and_ends_when_stopped() -> None:
    channel = SignallingChannel()
    store, clock = MemoryStore(), Clock()
    dispatcher = Dispatcher(store, {"email": channel}, RetrySchedule(), clock, idle_s=30)
    stop = asyncio.Event()
    loop = asyncio.create_task(dispatcher.run(stop))
    await asyncio.sleep(0.01)  # the loop is now idle for up to 30 s

    store.add(message(), START)
    dispatcher.wake()
    async with asyncio.timeout(2):
        await channel.sending.wait()
        stop.set()
        await loop

    assert store.rows["delivery-1"].status == "sent"


class StoreFailingOnce(MemoryStore):
    """Raises from one named operation the first time it is called, as a dropped database connection would."""

    def __init__(self, failing: str) -> None:
        super().__init__()
        self.failing = failing

    def _fail_once(self, operation: str) -> None:
        if operation == self.failing:
            self.failing = ""
            raise ConnectionError("database went away")

    async def claim_due(self, now: datetime, limit: int, lease_until: datetime) -> list[Claimed]:
        self._fail_once("claim_due")
        return await super().claim_due(now, limit, lease_until)

    async def record_attempt(self, delivery_id: str, *args: Any) -> None:
        self._fail_once("record_attempt")
        await super().record_attempt(delivery_id, *args)


async def test_a_send_whose_record_was_lost_is_sent_again_after_the_lease_so_nothing_is_lost() -> None:
    store, clock = StoreFailingOnce("record_attempt"), Clock()
    store.add(message(), START)
    channel = ScriptedChannel("sent")
    dispatcher = dispatcher_for(store, clock, email=channel)

    unrecorded = await dispatcher.run_once()
    clock.advance(60)
    recorded = await dispatcher.run_once()

    assert (unrecorded, recorded) == (0, 1)
    assert len(channel.sent) == 2
    assert store.rows["delivery-1"].status == "sent"


async def test_the_loop_survives_a_failing_store_and_delivers_afterwards() -> None:
    channel = SignallingChannel()
    store, clock = StoreFailingOnce("claim_due"), Clock()
    dispatcher = Dispatcher(store, {"email": channel}, RetrySchedule(), clock, idle_s=30)
    stop = asyncio.Event()
    loop = asyncio.create_task(dispatcher.run(stop))
    await asyncio.sleep(0.01)

    store.add(message(), START)
    dispatcher.wake()
    async with asyncio.timeout(2):
        await channel.sending.wait()
        stop.set()
        await loop

    assert store.failing == ""
    assert store.rows["delivery-1"].status == "sent"
