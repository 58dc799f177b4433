"""A WebSocket client that speaks ASGI to the app in-process, on the test's own event loop."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import Any

TIMEOUT = 10.0


@dataclass(frozen=True)
class Opening:
    """What the server did first after the handshake: closed with a code, or sent a message."""

    closed: int | None
    message: Any = None


async def first_answer(app: Any, path: str, headers: dict[str, str]) -> Opening:
    incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outgoing: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    incoming.put_nowait({"type": "websocket.connect"})
    route, _, query = path.partition("?")
    scope = {
        "type": "websocket", "asgi": {"version": "3.0", "spec_version": "2.4"}, "scheme": "ws", "http_version": "1.1",
        "path": route, "raw_path": route.encode(), "query_string": query.encode(), "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in {"host": "testserver", **headers}.items()],
        "client": ("127.0.0.1", 50123), "server": ("testserver", 80), "subprotocols": [], "extensions": {},
        "state": {},
    }

    async def receive() -> dict[str, Any]:
        return await incoming.get()

    async def send(message: dict[str, Any]) -> None:
        outgoing.put_nowait(message)

    task = asyncio.create_task(app(scope, receive, send))
    try:
        while True:
            message = await asyncio.wait_for(outgoing.get(), TIMEOUT)
            kind = message["type"]
            if kind == "websocket.close":
                return Opening(int(message.get("code", 1000)))
            if kind == "websocket.send":
                return Opening(None, json.loads(message.get("text") or "null"))
            if kind == "websocket.http.response.start":
                return Opening(int(message["status"]))
    finally:
        incoming.put_nowait({"type": "websocket.disconnect", "code": 1000})
        try:
            await asyncio.wait_for(task, TIMEOUT)
        except (TimeoutError, Exception):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
