"""A bounded soak: mixed load with reconnecting tablets, reporting memory growth and every error.

    python bench/soak.py                 # 20 minutes
    python bench/soak.py --minutes 3

Against one app process on SQLite, for `--minutes`:
- phones check in at `--scans` per second (new phones first; once every phone has, the same
  phones scan again and are told they already have);
- `--tablets` signed-in tablets each hold a register WebSocket on a session, send a ping every
  few seconds, mark someone every `--mark-every` seconds (a new nonce each time, and now and
  then the same nonce again, as a retrying tablet would), and drop and reopen their socket
  every ~30 seconds with `since` (a tablet walking out of Wi-Fi range), then check that the
  deltas they were sent run on without a gap from where they left off;
- a staff page reads a register snapshot every second.
Every minute it prints the server's RSS and the counts so far. At the end: the RSS growth from
the end of the first minute (warm-up) to the end, and each kind of error (an unexpected status,
a refused connection, a socket closed by the server, a gap in a tablet's deltas, a missing pong).
It exits 1 if there was any error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from harness import Server, World, load_average, servers, sign_in
from loadgen import connect, request, run
from wsclient import Arrival, View, open_view

DELTAS = ("mark", "checkin", "notice", "window", "register_complete", "tutor_checkin", "flag")


@dataclass
class Soak:
    server: Server
    world: World
    cookie: str
    csrf: str
    errors: Counter[str] = field(default_factory=Counter)
    counts: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)

    def error(self, kind: str, detail: str = "") -> None:
        self.errors[kind] += 1
        if detail and len(self.samples) < 20:
            self.samples.append(f"{kind}: {detail[:300]}")


async def scanning(soak: Soak, rate: float, stop: float) -> None:
    """Phones scanning at `rate` per second on four keep-alive connections."""
    phones = soak.world.all_phones()
    random.Random(1).shuffle(phones)
    conns = [await connect(soak.server.port) for _ in range(4)]
    i = 0
    next_at = time.monotonic()
    while time.monotonic() < stop:
        phone = phones[i % len(phones)]
        body = json.dumps({"session_id": phone.session_id, "token": soak.world.token(phone.session_id)}).encode()
        conn = conns[i % len(conns)]
        try:
            status, answer = await conn.send(request("POST", "/api/checkin/scan", body=body, cookie=phone.cookie,
                                                     port=soak.server.port))
        except ConnectionError as exc:
            soak.error("scan connection", str(exc))
            conns[i % len(conns)] = await connect(soak.server.port)
        else:
            outcome = json.loads(answer).get("outcome") if status == 200 else None
            if status != 200 or outcome not in ("checked_in", "late", "already_checked_in"):
                soak.error(f"scan {status}", answer.decode(errors="replace"))
            soak.counts["scans"] += 1
        i += 1
        next_at += 1 / rate
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))


class Tablet:
    """A tutor's tablet: a register socket it reopens now and then, pings, and marks."""

    def __init__(self, soak: Soak, number: int, session_id: int) -> None:
        self.soak, self.number, self.session_id = soak, number, session_id
        self.view: View | None = None
        self.last = 0  # the last seq this tablet has
        self.expect_from: int | None = None
        self.pongs = 0
        self.rng = random.Random(number)

    def on_message(self, view: View, arrival: Arrival) -> None:
        if self.view is None:
            self.view = view  # the socket being opened: its first messages can come with the handshake's answer
        if view is not self.view:
            return
        if arrival.type == "snapshot":
            self.last = arrival.seq
        elif arrival.type == "pong":
            self.pongs += 1
        elif arrival.type == "resumed":
            if arrival.seq != self.last:
                self.soak.error("tablet resumed at the wrong seq", f"resumed {arrival.seq}, had {self.last}")
        elif arrival.type in DELTAS:
            if arrival.seq != self.last + 1:
                self.soak.error("tablet delta gap", f"tablet {self.number}: got {arrival.seq} after {self.last}")
            self.last = max(self.last, arrival.seq)
            self.soak.counts["deltas"] += 1

    async def open(self, since: int | None) -> None:
        path = f"/ws/sessions/{self.session_id}" + (f"?since={since}" if since is not None else "")
        self.view = None
        try:
            self.view = await open_view(self.soak.server.port, path, self.soak.cookie, self.on_message)
            self.soak.counts["socket opens"] += 1
        except (ConnectionError, OSError, TimeoutError) as exc:
            self.soak.error("socket open", str(exc))
            self.view = None

    async def run(self, http: httpx.AsyncClient, mark_every: float, stop: float) -> None:
        await self.open(None)
        reopen_at = time.monotonic() + self.rng.uniform(20, 40)
        ping_at = time.monotonic() + 5
        mark_at = time.monotonic() + self.rng.uniform(0, mark_every)
        people = [p.person_id for p in self.soak.world.phones[self.session_id]]
        last_mark: tuple[int, str, str] | None = None
        while time.monotonic() < stop:
            now = time.monotonic()
            if self.view is not None and self.view.closed:
                self.soak.error("socket closed by the server", f"code {self.view.close_code}")
                await self.open(self.last)
            if now >= reopen_at:
                if self.view is not None:
                    self.view.close()
                await asyncio.sleep(self.rng.uniform(0.1, 2.0))  # out of range for a moment
                await self.open(self.last)
                reopen_at = time.monotonic() + self.rng.uniform(20, 40)
            if now >= ping_at and self.view is not None:
                sent = self.pongs
                self.view.send_text('{"type": "ping"}')
                await asyncio.sleep(2)
                if self.pongs == sent and self.view is not None and not self.view.closed:
                    self.soak.error("no pong within 2 s")
                ping_at = time.monotonic() + 5
            if now >= mark_at:
                if last_mark is None or self.rng.random() > 0.1:  # one mark in ten is a retry of the last
                    last_mark = (self.rng.choice(people), self.rng.choice(["present", "late", "absent_unauthorised"]),
                                 f"soak-{self.number}-{time.time_ns()}")
                await self.mark(http, *last_mark)
                mark_at = time.monotonic() + mark_every
            await asyncio.sleep(0.1)
        if self.view is not None:
            self.view.close()

    async def mark(self, http: httpx.AsyncClient, person_id: int, status: str, nonce: str) -> None:
        try:
            r = await http.post(f"/api/sessions/{self.session_id}/marks", json={
                "person_id": person_id, "status": status, "client_time": datetime.now(UTC).isoformat(),
                "nonce": nonce, "device": f"soak-tablet-{self.number}",
                "reason": "soak test" if status != "present" else ""})
        except httpx.HTTPError as exc:
            self.soak.error("mark connection", str(exc))
            return
        if r.status_code not in (200, 201):
            self.soak.error(f"mark {r.status_code}", r.text)
        self.soak.counts["marks"] += 1


async def reading(soak: Soak, http: httpx.AsyncClient, stop: float) -> None:
    sessions = soak.world.session_ids
    i = 0
    while time.monotonic() < stop:
        r = await http.get(f"/api/sessions/{sessions[i % len(sessions)]}/register")
        if r.status_code != 200:
            soak.error(f"register {r.status_code}", r.text)
        soak.counts["snapshots"] += 1
        i += 1
        await asyncio.sleep(1.0)


async def soak_run(server: Server, world: World, args: argparse.Namespace) -> int:
    cookie, csrf = await sign_in(server.base)
    soak = Soak(server, world, cookie, csrf)
    stop = time.monotonic() + args.minutes * 60
    headers = {"cookie": cookie, "x-csrf-token": csrf}
    async with httpx.AsyncClient(base_url=server.base, headers=headers, timeout=30) as http:
        tablets = [Tablet(soak, n, world.session_ids[n % len(world.session_ids)]) for n in range(args.tablets)]
        tasks = [asyncio.create_task(scanning(soak, args.scans, stop)), asyncio.create_task(reading(soak, http, stop))]
        tasks += [asyncio.create_task(t.run(http, args.mark_every, stop)) for t in tablets]
        rss: list[tuple[float, float]] = []
        started = time.monotonic()
        while time.monotonic() < stop:
            await asyncio.sleep(min(60.0, max(0.0, stop - time.monotonic())))
            minute = (time.monotonic() - started) / 60
            rss.append((minute, server.rss_mb()))
            print(f"  {minute:5.1f} min: RSS {rss[-1][1]:.0f} MB, {dict(soak.counts)}, "
                  f"errors {sum(soak.errors.values())}, load average {load_average()}", flush=True)
        results = await asyncio.gather(*tasks, return_exceptions=True)
    for res in results:
        if isinstance(res, BaseException):
            soak.error("task failed", repr(res))
    warm = rss[0][1] if rss else server.rss_mb()
    end = rss[-1][1] if rss else warm
    print(f"RSS after the first minute {warm:.0f} MB, at the end {end:.0f} MB: growth {end - warm:+.0f} MB "
          f"({(end - warm) / max(args.minutes - 1, 1e-9):+.1f} MB per minute after warm-up); peak "
          f"{max((r for _, r in rss), default=end):.0f} MB")
    print(f"done: {dict(soak.counts)}")
    if soak.errors:
        print(f"ERRORS: {dict(soak.errors)}")
        for line in soak.samples:
            print(f"  {line}")
        return 1
    print("no errors")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--scans", type=float, default=20.0, help="phone scans per second")
    parser.add_argument("--tablets", type=int, default=30)
    parser.add_argument("--mark-every", type=float, default=3.0, help="seconds between one tablet's marks")
    args = parser.parse_args()
    with servers(None, 1, world={"sessions_n": 30, "roster_n": 300}) as (procs, world, _):
        assert world is not None
        print(f"soak: {args.minutes:g} min on SQLite, {args.scans:g} scans/s, {args.tablets} tablets marking every "
              f"{args.mark_every:g} s and reconnecting every ~30 s, a register read every second; "
              f"load average {load_average()}", flush=True)
        code = run(soak_run(procs[0], world, args))
    return int(code)  # type: ignore[call-overload]


if __name__ == "__main__":
    sys.exit(main())
