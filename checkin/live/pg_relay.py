"""Cross-instance fan-out on PostgreSQL: NOTIFY wakes the relay, the events table is the truth.

Each instance LISTENs on one connection. A notification says only "channel C reached seq N";
the relay then reads every event of C after the last one it delivered, so a dropped or
coalesced NOTIFY, or a reconnect, never loses an event: the next one catches up the gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from checkin.live.hub import Hub
from checkin.storage.database import Database
from checkin.storage.events import NOTIFY_CHANNEL, since

log = logging.getLogger(__name__)


def asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class PgRelay:
    def __init__(self, db: Database, hub: Hub, batch: int = 1000) -> None:
        self.db = db
        self.hub = hub
        self.batch = batch
        self.delivered: dict[str, int] = {}
        self.pending: dict[str, tuple[int, int]] = {}  # channel -> (lowest, highest) seq announced
        self.wake = asyncio.Event()

    def on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        channel, _, seq = payload.rpartition(" ")
        if seq.isdigit():
            n = int(seq)
            lo, hi = self.pending.get(channel, (n, n))
            self.pending[channel] = (min(lo, n), max(hi, n))
            self.wake.set()

    async def drain(self) -> None:
        """Delivers, in order, every event newer than what each subscribed channel has seen."""
        work, self.pending = self.pending, {}
        for channel, (lowest, newest) in work.items():
            last = self.delivered.get(channel, lowest - 1)
            if newest <= last:
                continue
            if not self.hub.subscribers(channel):
                self.delivered[channel] = newest
                continue
            async with self.db.read() as conn:
                missed = await since(conn, channel, last, self.batch)
            if missed is None:  # too far behind to replay: jump; subscribers detect the gap and resync
                self.delivered[channel] = newest
                continue
            for event in missed:
                self.hub.deliver(channel, event)
                self.delivered[channel] = event["seq"]

    async def run(self, dsn: str) -> None:
        while True:
            try:
                conn = await asyncpg.connect(dsn)
                try:
                    await conn.add_listener(NOTIFY_CHANNEL, self.on_notify)
                    while True:
                        await self.wake.wait()
                        self.wake.clear()
                        await self.drain()
                finally:
                    await conn.close()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("event relay lost its connection; reconnecting")
                await asyncio.sleep(1)


@contextlib.asynccontextmanager
async def run_relay(db: Database, hub: Hub) -> AsyncIterator[PgRelay | None]:
    """Runs the relay for the app's lifetime on PostgreSQL; on SQLite there is one process, so none."""
    if db.sqlite:
        yield None
        return
    hub.relay_only = True
    relay = PgRelay(db, hub)
    task = asyncio.create_task(relay.run(asyncpg_dsn(db.url)), name="checkin-pg-relay")
    try:
        yield relay
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
