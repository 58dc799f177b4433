"""The dispatcher alone in a process of its own, for the kill test.

Run as `python -m tests.services.outbox_process DATABASE_URL DATA_DIR`; prints "ready" once it
is delivering and then runs until it is killed.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx

from checkin.clock import system_clock
from checkin.context import AppContext
from checkin.live.hub import Hub
from checkin.services.dispatch import run_dispatcher
from checkin.settings import Settings
from checkin.storage.database import Database

LEASE_S = 5.0


async def main(url: str, data_dir: str) -> None:
    settings = Settings.from_env({}, data_dir=Path(data_dir), database_url=url, secret_key="kill-test-" + "z" * 40)
    db = Database(url)
    await db.start()
    async with httpx.AsyncClient(timeout=10.0) as http:
        ctx = AppContext(settings, db, Hub(), system_clock, http)
        async with run_dispatcher(ctx, lease_s=LEASE_S, idle_s=0.2):
            print("ready", flush=True)
            await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
