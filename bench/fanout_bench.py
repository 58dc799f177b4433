"""Live fan-out: from a check-in to every connected register view, beside a bare broadcast to the same sockets.

    python bench/fanout_bench.py                       # 1,000 and 5,000 views on SQLite, one app process
    python bench/fanout_bench.py --views 1000 --url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres --instances 2

Every view is a signed-in register WebSocket (/ws/sessions/{id}) on one session. For each of
`--events` check-ins (a remembered phone scanning the session's current code), the clock starts
when the POST is sent and stops, per socket, when that socket has the `checkin` delta; the
figures are over every (event, socket) pair, and "last" is when the slowest socket had it. The
bare broadcast is POST /bench/broadcast (one numbered event appended and published: the same
commit, hub and sockets without the check-in). Each figure runs on a fresh server; memory per
connection is its RSS growth from before the first view opened to after the last one had its
snapshot, divided by the views.
With --instances 2 (PostgreSQL) the views are on the second app process and the check-ins go to
the first, so every delivery crosses instances through the NOTIFY relay.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator

import httpx
from checkin_bench import fresh_postgres
from harness import Phone, Server, World, load_average, pct, servers, sign_in
from loadgen import run
from wsclient import Arrival, View, open_view


class Deliveries:
    """When each view received each numbered event, and of what type it was."""

    def __init__(self) -> None:
        self.at: dict[int, list[float]] = {}
        self.types: dict[int, str] = {}
        self.waiting: dict[int, tuple[int, asyncio.Event]] = {}

    def __call__(self, view: View, arrival: Arrival) -> None:
        times = self.at.setdefault(arrival.seq, [])
        times.append(arrival.at)
        self.types[arrival.seq] = arrival.type
        wanted = self.waiting.get(arrival.seq)
        if wanted is not None and len(times) >= wanted[0]:
            wanted[1].set()

    async def first_of_type(self, kind: str, after: int, within_s: float = 30) -> int:
        """The number of the first event of `kind` numbered above `after` to reach any view."""
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            found = [seq for seq, t in self.types.items() if t == kind and seq > after]
            if found:
                return min(found)
            await asyncio.sleep(0.0005)
        raise TimeoutError(f"no {kind} event reached any view")

    async def all_of(self, seq: int, views: int, within_s: float) -> list[float]:
        done = asyncio.Event()
        self.waiting[seq] = (views, done)
        if len(self.at.get(seq, [])) >= views:
            done.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), within_s)
        return self.at.get(seq, [])


async def open_views(port: int, session_id: int, cookie: str, n: int, deliveries: Deliveries) -> list[View]:
    views: list[View] = []
    for start in range(0, n, 100):  # a hundred handshakes at a time, as tablets arriving in waves would
        views += await asyncio.gather(*(open_view(port, f"/ws/sessions/{session_id}", cookie, deliveries)
                                        for _ in range(min(100, n - start))))
    deadline = time.monotonic() + 120
    while sum(1 for v in views if v.arrivals) < n and time.monotonic() < deadline:  # noqa: ASYNC110 (a poll is simplest)
        await asyncio.sleep(0.05)  # every view has its snapshot
    return views


async def measure(send: Callable[[], Awaitable[int]], deliveries: Deliveries, n_views: int, events: int,
                  ) -> tuple[list[float], list[float], int]:
    """Latencies (ms) over every (event, view), the time to the last view per event, and deliveries missed."""
    every: list[float] = []
    last: list[float] = []
    missed = 0
    for _ in range(events):
        t0 = time.perf_counter()
        seq = await send()
        times = await deliveries.all_of(seq, n_views, within_s=30)
        missed += n_views - len(times)
        every += [(t - t0) * 1000 for t in times]
        if times:
            last.append((max(times) - t0) * 1000)
        await asyncio.sleep(0.05)
    return every, last, missed


def report(name: str, every: list[float], last: list[float], missed: int) -> str:
    extra = f"  MISSED {missed}" if missed else ""
    return (f"  {name:<15} p50 {pct(every, 0.5):7.1f} ms  p99 {pct(every, 0.99):7.1f} ms  "
            f"max {max(every, default=float('nan')):7.1f} ms  (to the last view: p50 {pct(last, 0.5):7.1f} ms, "
            f"max {max(last, default=float('nan')):7.1f} ms){extra}")


async def scenario(procs: list[Server], world: World, phones: Iterator[Phone], n_views: int, events: int) -> None:
    """Opens the views, then measures the bare broadcasts and the check-ins (each phone checks in once)."""
    session_id = world.session_ids[0]
    checkin_server, view_server = procs[0], procs[-1]
    cookie, _ = await sign_in(view_server.base)
    deliveries = Deliveries()
    rss0 = view_server.rss_mb()
    t0 = time.perf_counter()
    views = await open_views(view_server.port, session_id, cookie, n_views, deliveries)
    opened = time.perf_counter() - t0
    rss1 = view_server.rss_mb()
    ready = sum(1 for v in views if v.arrivals)
    print(f"{n_views:,} views: {ready:,} had their snapshot in {opened:.1f} s; server RSS {rss0:.0f} -> {rss1:.0f} MB "
          f"= {1024 * (rss1 - rss0) / max(ready, 1):.0f} KB per connection")
    async with httpx.AsyncClient(base_url=checkin_server.base) as http:

        async def broadcast() -> int:
            r = await http.post(f"/bench/broadcast?channel=session:{session_id}")
            assert r.status_code == 200, r.text
            return int(r.json()["seq"])

        async def check_in() -> int:
            before = max(deliveries.types, default=0)
            phone = next(phones)
            r = await http.post("/api/checkin/scan", headers={"cookie": phone.cookie},
                                json={"session_id": session_id, "token": world.token(session_id)})
            assert r.status_code == 200, r.text
            return await deliveries.first_of_type("checkin", before)

        b_every, b_last, b_missed = await measure(broadcast, deliveries, ready, events)
        c_every, c_last, c_missed = await measure(check_in, deliveries, ready, events)
    print(report("bare broadcast", b_every, b_last, b_missed))
    print(report("QR check-in", c_every, c_last, c_missed))
    closed = [v.close_code for v in views if v.closed]
    if closed:
        print(f"  closed by the server during the run: {len(closed)} (codes {sorted({c or 0 for c in closed})})")
    for v in views:
        v.close()
    await asyncio.sleep(1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--views", default="1000,5000", help="comma-separated numbers of register views")
    parser.add_argument("--events", type=int, default=20, help="check-ins (and bare broadcasts) per figure")
    parser.add_argument("--url", default="", help="a PostgreSQL server URL (a fresh database is made on it)")
    parser.add_argument("--instances", type=int, default=1)
    parser.add_argument("--roster", type=int, default=30, help="people on the viewed session (a class)")
    args = parser.parse_args()
    for n in (int(v) for v in args.views.split(",")):
        # a fresh server (and database) per figure, so its memory is that of a process with n views
        with fresh_postgres(args.url) as pg_url, servers(pg_url, args.instances, world={
                "sessions_n": 1, "roster_n": max(args.roster, args.events)}) as (procs, world, _):
            assert world is not None
            print(f"{'PostgreSQL' if pg_url else 'SQLite'}, {len(procs)} app process(es); views on "
                  f"{procs[-1].base}, check-ins to {procs[0].base}; load average {load_average()}")
            run(scenario(procs, world, iter(world.phones[world.session_ids[0]]), n, args.events))
            print(f"  server RSS after the views closed: {procs[-1].rss_mb():.0f} MB")

if __name__ == "__main__":
    main()
