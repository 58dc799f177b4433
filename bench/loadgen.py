"""A lean HTTP/1.1 load generator: keep-alive connections as asyncio protocols, raw bytes out, status in.

The load generator shares the machine's two cores with the server, so it does as little as
it can per request: requests are prebuilt bytes, and a response is read only as far as its
status line, Content-Length and body end. Each connection is one client: it sends a request,
waits for the whole answer, and sends the next (closed loop); `open_loop` instead sends on a
schedule, whatever the answers, so a slow server cannot slow the offered load.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

try:
    import uvloop
except ImportError:  # the figures are then a little worse: the client costs more CPU
    uvloop = None  # type: ignore[assignment]


def run(main: object) -> object:
    """asyncio.run on uvloop when it is installed."""
    if uvloop is not None:
        return uvloop.run(main)  # type: ignore[arg-type]
    return asyncio.run(main)  # type: ignore[arg-type]


def request(method: str, path: str, *, body: bytes = b"", cookie: str = "", port: int,
            content_type: str = "application/json") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    if cookie:
        head += f"Cookie: {cookie}\r\n"
    if body or method == "POST":
        head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + body


class _Conn(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("server closed the connection"))

    def data_received(self, data: bytes) -> None:
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buf[:end]).lower()
        at = head.find(b"content-length:")
        length = 0
        if at >= 0:
            length = int(head[at + 15:head.find(b"\r\n", at) if head.find(b"\r\n", at) > 0 else None])
        if len(self.buf) < end + 4 + length:
            return
        status = int(head[9:12])
        body = bytes(self.buf[end + 4:end + 4 + length])
        del self.buf[:end + 4 + length]
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result((status, body))

    async def send(self, data: bytes) -> tuple[int, bytes]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await self.waiter


async def connect(port: int, host: str = "127.0.0.1") -> _Conn:
    _, proto = await asyncio.get_running_loop().create_connection(_Conn, host, port)
    return proto


@dataclass
class Result:
    """Latencies (ms) of the answered requests in the measured interval, with status counts."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    bodies: list[bytes] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)  # open_loop: the kind of each answered request

    def tagged(self, tag: str) -> list[float]:
        return [lat for lat, t in zip(self.latencies, self.tags, strict=True) if t == tag]

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def ok(self, *codes: int) -> int:
        return sum(n for c, n in self.statuses.items() if c in (codes or (200,)))


async def closed_loop(ports: list[int], clients: int, requests: Callable[[int], bytes | None], seconds: float,
                      warmup: float = 1.0, keep_bodies: int = 0) -> Result:
    """`clients` connections (spread over `ports`) each sending the next request as soon as the last is answered.

    `requests(port)` builds the next request for a server; requests answered in the first
    `warmup` seconds are not counted; a client stops when it returns None or the time is up.
    """
    conns = [(ports[i % len(ports)], await connect(ports[i % len(ports)])) for i in range(clients)]
    result = Result()
    start = time.perf_counter()
    measure_from = start + warmup
    stop_at = measure_from + seconds

    async def client(port: int, conn: _Conn) -> None:
        while True:
            data = requests(port)
            if data is None:
                return
            t0 = time.perf_counter()
            if t0 >= stop_at:
                return
            try:
                status, body = await conn.send(data)
            except ConnectionError:
                result.errors += 1
                return
            t1 = time.perf_counter()
            if t0 >= measure_from:
                result.latencies.append((t1 - t0) * 1000)
                result.statuses[status] = result.statuses.get(status, 0) + 1
                if status != 200 and len(result.bodies) < keep_bodies:
                    result.bodies.append(body)

    await asyncio.gather(*(client(p, c) for p, c in conns))
    result.seconds = min(time.perf_counter(), stop_at) - measure_from
    for _, c in conns:
        if c.transport is not None:
            c.transport.close()
    return result


async def open_loop(ports: list[int], schedule: Iterable[tuple[float, int, Callable[[], bytes], str]],
                    connections: int = 64) -> Result:
    """Sends each (offset s, port, build request, tag) at its time on a free connection to that port.

    The request is built when it is sent; its latency runs from the scheduled time (a request
    that waited for a free connection counts the wait), and `tags` says which kind it was.
    """
    idle: dict[int, asyncio.Queue[_Conn]] = {}
    for port in ports:
        idle[port] = asyncio.Queue()
        for _ in range(connections):
            idle[port].put_nowait(await connect(port))
    result = Result()
    start = time.perf_counter()
    pending: set[asyncio.Task[None]] = set()

    async def one(at: float, port: int, build: Callable[[], bytes], tag: str) -> None:
        conn = await idle[port].get()
        try:
            status, body = await conn.send(build())
        except ConnectionError:
            result.errors += 1
            conn = await connect(port)
        else:
            result.latencies.append((time.perf_counter() - at) * 1000)
            result.tags.append(tag)
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if status != 200 and len(result.bodies) < 3:
                result.bodies.append(body)
        idle[port].put_nowait(conn)

    for offset, port, build, tag in schedule:
        delay = start + offset - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(start + offset, port, build, tag))
        pending.add(task)
        task.add_done_callback(pending.discard)
    if pending:
        await asyncio.gather(*pending)
    result.seconds = time.perf_counter() - start
    for queue in idle.values():
        while not queue.empty():
            conn = queue.get_nowait()
            if conn.transport is not None:
                conn.transport.close()
    return result
