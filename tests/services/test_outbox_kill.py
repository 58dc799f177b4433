"""A dispatcher process killed with SIGKILL mid-delivery loses nothing: the restarted one finishes every delivery."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from alerts.webhook import verify
from checkin.context import AppContext
from checkin.services.alerting import raise_alert
from checkin.settings import Settings
from checkin.storage.database import Tx
from checkin.storage.tables import deliveries
from tests.services.alert_world import add_webhook

SECRET = "slow-receiver-secret"
ROOT = Path(__file__).resolve().parents[2]
ALERTS = 30


@dataclass
class SlowReceiver:
    url: str
    ids: list[str] = field(default_factory=list)
    verified: list[bool] = field(default_factory=list)
    in_flight: threading.Event = field(default_factory=threading.Event)  # set from the fifth webhook on


@pytest.fixture
def slow_receiver() -> Iterator[SlowReceiver]:
    """A real HTTP receiver that takes 0.3 s per webhook, so a kill lands while sends are in flight."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    receiver = SlowReceiver(f"http://127.0.0.1:{sock.getsockname()[1]}/hook")

    async def hook(request: Request) -> Response:
        body = await request.body()
        await asyncio.sleep(0.3)
        receiver.verified.append(verify(SECRET.encode(), request.headers.get("x-checkin-timestamp", ""), body,
                                        request.headers.get("x-checkin-signature", ""), datetime.now(UTC)))
        receiver.ids.append(request.headers["x-checkin-delivery-id"])
        if len(receiver.ids) >= 5:
            receiver.in_flight.set()
        return Response(status_code=204)

    server = uvicorn.Server(uvicorn.Config(Starlette(routes=[Route("/hook", hook, methods=["POST"])]),
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield receiver
    server.should_exit = True
    thread.join(timeout=10)


def start_dispatcher(settings: Settings) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-m", "tests.services.outbox_process", settings.database_url,
                             str(settings.data_dir)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


async def states(ctx: AppContext) -> list[tuple[str, str, object]]:
    async with ctx.db.read() as conn:
        rows = (await conn.execute(sa.select(deliveries.c.id, deliveries.c.state, deliveries.c.lease_until))).all()
    return [(r.id, r.state, r.lease_until) for r in rows]


async def test_a_dispatcher_killed_mid_delivery_and_restarted_delivers_every_committed_alert(
        ctx: AppContext, settings: Settings, slow_receiver: SlowReceiver) -> None:
    await add_webhook(ctx, slow_receiver.url, SECRET)

    async def work(tx: Tx) -> None:
        for n in range(ALERTS):
            await raise_alert(tx, ctx, org_id=ctx.extras["org_id"], rule_id="AP-NOSHOW", kind="no_show",
                              severity="warning", title=f"No-show {n}", why="Did not arrive.", facts={"n": n},
                              recipients=[], now=datetime.now(UTC))

    await ctx.db.write(work)
    first = start_dispatcher(settings)
    try:
        assert await asyncio.to_thread(slow_receiver.in_flight.wait, 30)
        os.kill(first.pid, signal.SIGKILL)
    finally:
        first.kill()
        first.wait()
    at_kill = await states(ctx)
    second = start_dispatcher(settings)
    try:
        for _ in range(600):
            now = await states(ctx)
            if all(state == "sent" for _, state, _ in now):
                break
            await asyncio.sleep(0.1)
    finally:
        second.send_signal(signal.SIGKILL)
        second.wait()

    final = await states(ctx)
    assert len(final) == ALERTS
    assert sum(state != "sent" for _, state, _ in at_kill) > 0  # the kill really came mid-delivery
    assert [(state, lease) for _, state, lease in final] == [("sent", None)] * ALERTS
    assert {delivery_id for delivery_id, _, _ in final} <= set(slow_receiver.ids)
    assert all(slow_receiver.verified)
