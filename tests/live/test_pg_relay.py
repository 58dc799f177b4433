"""Fan-out across instances on PostgreSQL: an event written by one reaches another's subscribers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from checkin.live.hub import Hub
from checkin.live.pg_relay import run_relay
from checkin.storage.database import Database, Tx
from checkin.storage.events import append
from tests.conftest import postgres_only

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _writer(channel: str, n: int):
    async def work(tx: Tx) -> None:
        for i in range(n):
            await append(tx.conn, channel, "mark", {"i": i}, NOW)
    return work


@postgres_only
async def test_events_written_by_another_instance_arrive_in_order(database_url: str) -> None:
    instance_a, instance_b = Database(database_url), Database(database_url)
    await instance_a.start()
    await instance_b.start(migrate=False)
    hub_a = Hub()
    try:
        async with run_relay(instance_a, hub_a) as relay:
            assert relay is not None
            await asyncio.sleep(0.3)  # the LISTEN is in place
            sub = hub_a.subscribe("session:7")
            await instance_b.write(_writer("session:7", 3))
            await instance_b.write(_writer("session:7", 2))
            got = [await asyncio.wait_for(sub.get(), timeout=2) for _ in range(5)]
        assert [e["seq"] for e in got if e] == [1, 2, 3, 4, 5]
    finally:
        await instance_a.close()
        await instance_b.close()


@postgres_only
async def test_a_local_publish_is_not_delivered_twice_on_postgres(database_url: str) -> None:
    db = Database(database_url)
    await db.start()
    hub = Hub()
    try:
        async with run_relay(db, hub):
            await asyncio.sleep(0.3)
            sub = hub.subscribe("session:8")

            async def work(tx: Tx) -> None:
                event = await append(tx.conn, "session:8", "mark", {}, NOW)
                tx.after_commit(lambda: hub.publish("session:8", event))

            await db.write(work)
            first = await asyncio.wait_for(sub.get(), timeout=2)
            await asyncio.sleep(0.3)
        assert first is not None and first["seq"] == 1 and sub.queue.qsize() == 0
    finally:
        await db.close()
