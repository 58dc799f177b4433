"""A lean WebSocket client for thousands of register views in one bench process.

Each view is an asyncio protocol that does the RFC 6455 handshake, answers pings, and notes
the arrival time, type and seq of every message without decoding its JSON (the server sends
`{"type": ..., "seq": N, ...}`), so the client's own cost per message stays a few microseconds
and the measured delivery time is the server's, not the client's.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

_HEAD = re.compile(rb'^\{"type": "([a-z_]+)", "seq": (\d+)')


@dataclass
class Arrival:
    type: str
    seq: int
    at: float


@dataclass
class View(asyncio.Protocol):
    """One register view: a socket subscribed to one session's live updates."""

    on_message: Callable[[View, Arrival], None] | None = None
    arrivals: list[Arrival] = field(default_factory=list)
    keep: bool = False  # keep every arrival (the soak's tablets do; thousands of views need not)
    opened: asyncio.Future[None] | None = None
    close_code: int | None = None
    closed: bool = False
    transport: asyncio.Transport | None = None
    _buf: bytearray = field(default_factory=bytearray)
    _upgraded: bool = False
    _fragments: bytearray = field(default_factory=bytearray)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.opened is not None and not self.opened.done():
            self.opened.set_exception(ConnectionError("closed during the handshake"))

    def data_received(self, data: bytes) -> None:
        self._buf += data
        if not self._upgraded:
            end = self._buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(self._buf[9:12])
            del self._buf[:end + 4]
            if status != b"101":
                if self.opened is not None and not self.opened.done():
                    self.opened.set_exception(ConnectionError(f"handshake answered {status.decode()}"))
                return
            self._upgraded = True
            if self.opened is not None and not self.opened.done():
                self.opened.set_result(None)
        self._frames()

    def _frames(self) -> None:
        buf = self._buf
        while len(buf) >= 2:
            fin, opcode, length, at = buf[0] & 0x80, buf[0] & 0x0F, buf[1] & 0x7F, 2
            if length == 126:
                if len(buf) < 4:
                    return
                length, at = int.from_bytes(buf[2:4], "big"), 4
            elif length == 127:
                if len(buf) < 10:
                    return
                length, at = int.from_bytes(buf[2:10], "big"), 10
            if len(buf) < at + length:
                return
            payload = bytes(buf[at:at + length])
            del buf[:at + length]
            if opcode == 0x9:
                self._send(0xA, payload)
            elif opcode == 0x8:
                self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
                self._send(0x8, payload[:2])
                if self.transport is not None:
                    self.transport.close()
            elif opcode in (0x1, 0x0):
                self._fragments += payload
                if fin:
                    self._message(bytes(self._fragments))
                    self._fragments.clear()

    def _message(self, payload: bytes) -> None:
        head = _HEAD.match(payload)
        arrival = Arrival(head.group(1).decode(), int(head.group(2)), time.perf_counter()) if head else \
            Arrival("?", -1, time.perf_counter())
        if self.keep or arrival.type == "snapshot":
            self.arrivals.append(arrival)
        if self.on_message is not None:
            self.on_message(self, arrival)

    def _send(self, opcode: int, payload: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.transport.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)

    def send_text(self, text: str) -> None:
        data = text.encode()
        assert len(data) < 126
        self._send(0x1, data)

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self._send(0x8, (1000).to_bytes(2, "big"))
            self.transport.close()


async def open_view(port: int, path: str, cookie: str, on_message: Callable[[View, Arrival], None] | None = None,
                    keep: bool = False, within_s: float = 60) -> View:
    """Connects and completes the WebSocket handshake (Origin is the server itself, as a browser sends)."""
    loop = asyncio.get_running_loop()
    _, view = await loop.create_connection(lambda: View(on_message, keep=keep), "127.0.0.1", port)
    view.opened = loop.create_future()
    key = base64.b64encode(os.urandom(16)).decode()
    assert view.transport is not None
    view.transport.write((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                          f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                          f"Origin: http://127.0.0.1:{port}\r\nCookie: {cookie}\r\n\r\n").encode())
    await asyncio.wait_for(view.opened, within_s)
    return view
