"""WS /ws/sessions/{id}?since=N: a snapshot (or the deltas missed since N), then numbered deltas as they commit.

The hub subscription is taken before the database is read, and queued events numbered at or
below what was already sent are dropped, so no event falls between the read and the stream.
An event that arrives ahead of the next expected number is filled in from the events table.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from starlette.websockets import WebSocket, WebSocketDisconnect

from checkin.context import AppContext
from checkin.domain.errors import Forbidden, NotFound
from checkin.domain.principal import Principal
from checkin.live.hub import Subscription
from checkin.services.register import build_snapshot, load_session
from checkin.storage import events
from checkin.web.endpoint import MAX_ID
from checkin.web.session import current_principal

# Every message a register socket sends (README "WebSocket message types" documents each).
MESSAGE_TYPES = ("snapshot", "resumed", "mark", "checkin", "notice", "window", "register_complete", "tutor_checkin",
                 "flag", "pong")
CLOSE_NOT_SIGNED_IN = 4001
CLOSE_FORBIDDEN = 4003
CLOSE_NOT_FOUND = 4004
CLOSE_RESYNC = 4009


def origin_allowed(ws: WebSocket, public_base_url: str) -> bool:
    """The Origin must be this server as the browser reached it (Host) or as configured (public URL)."""
    origin = ws.headers.get("origin", "").rstrip("/").lower()
    if not origin:
        return False
    base = urlsplit(public_base_url)
    allowed = {f"{base.scheme}://{base.netloc}".lower()}
    host = ws.headers.get("host", "").lower()
    if host:
        allowed |= {f"http://{host}", f"https://{host}"}
    return origin in allowed


def wire(event: dict[str, Any]) -> dict[str, Any]:
    return {"type": event["type"], "seq": event["seq"], "data": event["data"]}


def _since(ws: WebSocket) -> int | None:
    raw = ws.query_params.get("since")
    return int(raw) if raw is not None and raw.isdigit() and len(raw) < 12 else None


async def opening(ctx: AppContext, actor: Principal, session_id: int,
                  since: int | None) -> tuple[list[dict[str, Any]], int]:
    """The first messages for a new connection and the number they bring the client up to."""
    channel = events.session_channel(session_id)
    async with ctx.db.read() as conn:
        last = await events.last_seq(conn, channel)
        row = await load_session(conn, actor, session_id)
        if since is not None and since <= last:
            missed = await events.since(conn, channel, since, ctx.settings.replay_limit)
            if missed is not None:
                upto = missed[-1]["seq"] if missed else since
                resumed = {"type": "resumed", "seq": upto, "data": {"since": since, "replayed": len(missed)}}
                return [*(wire(e) for e in missed), resumed], upto
        snap = await build_snapshot(conn, ctx, actor, row, last)
    return [{"type": "snapshot", "seq": last, "data": snap}], last


class _WireCache:
    """The JSON of the last few events, by identity: the hub hands one event object to every view
    in a room, so it is encoded once per event rather than once per view (1,000 views, 1,000 dumps)."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self.items: OrderedDict[int, tuple[dict[str, Any], str]] = OrderedDict()

    def text(self, event: dict[str, Any]) -> str:
        hit = self.items.get(id(event))
        if hit is not None and hit[0] is event:  # the event is kept alive here, so its id is not reused
            return hit[1]
        text = json.dumps(wire(event))
        self.items[id(event)] = (event, text)
        if len(self.items) > self.size:
            self.items.popitem(last=False)
        return text


_WIRE = _WireCache()


def _everything(event: dict[str, Any]) -> bool:
    return True


class EventStream:
    """One connection's sending side over a channel: in order, filled from the table after a gap,
    and one lock, so deltas and pongs never interleave. `keep` filters what this view may see."""

    def __init__(self, ws: WebSocket, ctx: AppContext, channel: str, sent: int,
                 keep: Callable[[dict[str, Any]], bool] = _everything) -> None:
        self.ws, self.ctx, self.channel, self.sent, self.keep = ws, ctx, channel, sent, keep
        self.lock = asyncio.Lock()

    async def send(self, message: dict[str, Any]) -> None:
        await self.send_text(json.dumps(message))

    async def send_text(self, text: str) -> None:
        async with self.lock:
            await self.ws.send_text(text)

    async def pump(self, sub: Subscription) -> None:
        while True:
            event = await sub.get()
            if event is None:
                await self.ws.close(CLOSE_RESYNC, "fell behind; reconnect without since")
                return
            seq = int(event["seq"])
            if seq <= self.sent:
                continue
            batch = [event]
            if seq > self.sent + 1:
                async with self.ctx.db.read() as conn:
                    filled = await events.since(conn, self.channel, self.sent, self.ctx.settings.replay_limit)
                if filled is None:
                    await self.ws.close(CLOSE_RESYNC, "too much missed; reconnect without since")
                    return
                batch = filled
            for e in batch:
                if self.keep(e):
                    await self.send_text(_WIRE.text(e))
                self.sent = int(e["seq"])

    async def listen(self) -> None:
        """Reads until the client goes; answers {"type": "ping"} so a tablet can spot a dead link."""
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text") or ""
            if '"ping"' in text[:64]:
                await self.send({"type": "pong", "seq": self.sent, "data": {}})


async def register_socket(ws: WebSocket) -> None:
    ctx: AppContext = ws.app.state.ctx
    await ws.accept()
    if not origin_allowed(ws, ctx.settings.public_base_url):
        await ws.close(CLOSE_FORBIDDEN, "bad origin")
        return
    actor = await current_principal(ws, ctx)
    if actor is None:
        await ws.close(CLOSE_NOT_SIGNED_IN, "sign in first")
        return
    session_id = int(ws.path_params["session_id"])
    if session_id > MAX_ID:
        await ws.close(CLOSE_NOT_FOUND, "no such session")
        return
    channel = events.session_channel(session_id)
    sub = ctx.hub.subscribe(channel)
    try:
        try:
            first, sent = await opening(ctx, actor, session_id, _since(ws))
        except NotFound:
            await ws.close(CLOSE_NOT_FOUND, "no such session")
            return
        except Forbidden:
            await ws.close(CLOSE_FORBIDDEN, "not your session")
            return
        stream = EventStream(ws, ctx, channel, sent)
        for message in first:
            await stream.send(message)
        tasks = {asyncio.create_task(stream.pump(sub)), asyncio.create_task(stream.listen())}
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await task
        for task in done:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                task.result()
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass  # the client went away mid-send
    finally:
        ctx.hub.unsubscribe(sub)
