"""WS /ws/alerts (DSL and admins) and /ws/events (events team and admins): the org channel, live.

Both open with a snapshot numbered with the org channel's sequence (or, with ?since=N, the
events missed since N), then send the channel's numbered events as they commit. /ws/events
passes on only what the events board shows (call-list tasks and follow-ups: never an alert,
so no safeguarding detail), so its numbers rise but skip; it also sends "counts" messages for
today's sessions whenever their registers change: those are whole state, carry the last
number sent, and need no ordering. Close codes: 4001 not signed in, 4003 forbidden or bad
origin, 4009 resync (reconnect without since).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from checkin.context import AppContext
from checkin.domain.model import Role
from checkin.domain.principal import Principal
from checkin.live.hub import Subscription
from checkin.services import safeguarding, tasks
from checkin.storage import events
from checkin.web.endpoint import Api
from checkin.web.register_socket import CLOSE_FORBIDDEN, CLOSE_NOT_SIGNED_IN, EventStream, origin_allowed, wire
from checkin.web.session import current_principal

api = Api()
DSL_FEED = frozenset({Role.DSL, Role.ADMIN})
EVENTS_FEED = frozenset({Role.EVENTS_TEAM, Role.ADMIN})
Keep = Callable[[dict[str, Any]], bool]


def board_event(event: dict[str, Any]) -> bool:
    """What the events board may see of the org channel: call-list tasks and follow-ups on tasks."""
    data = event.get("data") or {}
    if event["type"] == "task":
        return data.get("kind") in tasks.CALL_KINDS
    return event["type"] == "follow_up" and data.get("task_id") is not None


async def _admit(ws: WebSocket, ctx: AppContext, roles: frozenset[Role]) -> Principal | None:
    await ws.accept()
    if not origin_allowed(ws, ctx.settings.public_base_url):
        await ws.close(CLOSE_FORBIDDEN, "bad origin")
        return None
    actor = await current_principal(ws, ctx)
    if actor is None:
        await ws.close(CLOSE_NOT_SIGNED_IN, "sign in first")
        return None
    if actor.role not in roles:
        await ws.close(CLOSE_FORBIDDEN, "your role cannot watch this feed")
        return None
    return actor


def _since(ws: WebSocket) -> int | None:
    raw = ws.query_params.get("since")
    return int(raw) if raw is not None and raw.isdigit() and len(raw) < 12 else None


async def _replay(ctx: AppContext, channel: str, since: int | None, keep: Keep) -> tuple[list[dict[str, Any]], int]:
    """The kept events missed since `since` and the number they reach; ([], -1) when a snapshot is needed."""
    async with ctx.db.read() as conn:
        last = await events.last_seq(conn, channel)
        if since is None or since > last:
            return [], -1
        missed = await events.since(conn, channel, since, ctx.settings.replay_limit)
    if missed is None:
        return [], -1
    upto = missed[-1]["seq"] if missed else since
    kept = [wire(e) for e in missed if keep(e)]
    return [*kept, {"type": "resumed", "seq": upto, "data": {"since": since, "replayed": len(kept)}}], upto


async def _run(ws: WebSocket, feed: EventStream, subs: list[Subscription], extra: list[Any]) -> None:
    jobs = {asyncio.create_task(feed.pump(subs[0])), asyncio.create_task(feed.listen()), *extra}
    done, pending = await asyncio.wait(jobs, return_when=asyncio.FIRST_COMPLETED)
    for job in pending:
        job.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
            await job
    for job in done:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            job.result()


@api.websocket("/ws/alerts", roles=DSL_FEED, summary="Live alerts of the organisation: snapshot, then deltas")
async def alerts_socket(ws: WebSocket) -> None:
    ctx: AppContext = ws.app.state.ctx
    actor = await _admit(ws, ctx, DSL_FEED)
    if actor is None:
        return
    channel = events.org_channel(actor.org_id)
    sub = ctx.hub.subscribe(channel)
    try:
        first, sent = await _replay(ctx, channel, _since(ws), _everything)
        if sent < 0:
            async with ctx.db.read() as conn:
                sent = await events.last_seq(conn, channel)
            active = await safeguarding.list_alerts(ctx, actor, state="active")
            first = [{"type": "snapshot", "seq": sent, "data": {"alerts": active}}]
        feed = EventStream(ws, ctx, channel, sent, _everything)
        for message in first:
            await feed.send(message)
        await _run(ws, feed, [sub], [])
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        ctx.hub.unsubscribe(sub)


def _everything(event: dict[str, Any]) -> bool:
    return True


@api.websocket("/ws/events", roles=EVENTS_FEED, summary="The events board live: snapshot, call-list deltas, counts")
async def events_socket(ws: WebSocket) -> None:
    ctx: AppContext = ws.app.state.ctx
    actor = await _admit(ws, ctx, EVENTS_FEED)
    if actor is None:
        return
    channel = events.org_channel(actor.org_id)
    subs = [ctx.hub.subscribe(channel)]
    try:
        board = await tasks.events_board(ctx, actor, None, ctx.clock())
        subs += [ctx.hub.subscribe(events.session_channel(s["id"])) for s in board["sessions"]]
        first, sent = await _replay(ctx, channel, _since(ws), board_event)
        if sent < 0:
            sent = board["seq"]
            first = [{"type": "snapshot", "seq": sent, "data": board}]
        feed = EventStream(ws, ctx, channel, sent, board_event)
        for message in first:
            await feed.send(message)
        if _since(ws) is not None:
            await _send_counts(feed, [s["id"] for s in board["sessions"]])
        counters = [asyncio.create_task(_counts(feed, sub)) for sub in subs[1:]]
        await _run(ws, feed, subs, counters)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        for sub in subs:
            ctx.hub.unsubscribe(sub)


async def _counts(feed: EventStream, sub: Subscription) -> None:
    """Re-counts a session whenever its channel moves; a lost subscription just stops (counts are hints)."""
    session_id = int(sub.channel.split(":", 1)[1])
    while await sub.get() is not None:
        await _send_counts(feed, [session_id])
    await asyncio.Event().wait()


async def _send_counts(feed: EventStream, session_ids: list[int]) -> None:
    async with feed.ctx.db.read() as conn:
        counts = await tasks.session_counts(conn, session_ids)
    for session_id, c in counts.items():
        await feed.send({"type": "counts", "seq": feed.sent, "data": {"session_id": session_id, **c}})
