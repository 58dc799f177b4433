"""A watcher in a process of its own, for the multi-process tests: the real loop on a shared database.

    python -m tests.watcher.watcher_worker drain DATABASE_URL HOLDER START_AT_EPOCH BATCH_SIZE
        starts the watcher at START_AT (so several processes start together), stops once no due
        deadline is left unfired (nor a queued re-evaluation, due a moment after the mark that
        queued it), and prints {"holder": ..., "fired": n, "reevaluated": m} as JSON;
    python -m tests.watcher.watcher_worker hold DATABASE_URL
        starts the watcher, prints "ready" once it holds the SQLite lease, and runs until killed.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa

from checkin.clock import system_clock
from checkin.context import AppContext
from checkin.live.hub import Hub
from checkin.services.completion_queue import COALESCE_SECONDS
from checkin.settings import Settings
from checkin.storage.database import Database
from checkin.storage.tables import deadlines
from checkin.watcher import Watcher, run_watcher


async def due_unfired(db: Database) -> int:
    async with db.read() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(deadlines).where(
            deadlines.c.fired_at.is_(None),
            deadlines.c.due_at <= system_clock() + timedelta(seconds=COALESCE_SECONDS)))).scalar_one())


async def drain(watcher: Watcher, db: Database) -> None:
    for _ in itertools.count():
        if not await due_unfired(db):
            return
        await asyncio.sleep(0.05)


async def hold(watcher: Watcher) -> None:
    for _ in itertools.count():
        if watcher.stats.lease_held:
            print("ready", flush=True)
            await asyncio.Event().wait()
        await asyncio.sleep(0.05)


async def main(mode: str, url: str, holder: str | None, start_at: float, batch: int | None) -> dict[str, object]:
    settings = Settings.from_env({}, data_dir=Path(tempfile.mkdtemp()), database_url=url,
                                 secret_key="worker-secret-" + "z" * 40)
    db = Database(url)
    await db.start(migrate=False)
    try:
        async with httpx.AsyncClient() as http:
            ctx = AppContext(settings, db, Hub(), system_clock, http)
            await asyncio.sleep(max(0.0, start_at - time.time()))
            async with run_watcher(ctx, batch_size=batch, holder=holder) as watcher:
                assert watcher is not None
                await (drain(watcher, db) if mode == "drain" else hold(watcher))
                return {"holder": watcher.holder, "fired": watcher.stats.fired,
                        "reevaluated": watcher.stats.reevaluated}
    finally:
        await db.close()


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[0] == "drain":
        report = asyncio.run(main("drain", args[1], args[2], float(args[3]), int(args[4])))
    else:
        report = asyncio.run(main("hold", args[1], None, 0.0, None))
    print(json.dumps(report))
