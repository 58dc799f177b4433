"""QR check-in throughput and latency beside the same server's bare ceilings.

    python bench/checkin_bench.py                          # SQLite, one app process, 32 and 256 clients
    python bench/checkin_bench.py --url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres --instances 2

Each client is one keep-alive connection of a participant's phone that the server remembers
(signed device cookie) scanning the code its session's display shows now: POST
/api/checkin/scan, the full path (cookie check, rate limits, session read, code check, the
check-in unit of work with its mark, history, audit row and numbered live event, group
commit, after-commit publish). Every phone scans once, so every request writes. Beside it, in
the same run and on the same server: GET /bench/constant (HTTP, routing and middleware only)
and POST /bench/insert (one bare insert per request through the same Database.write). With
--url it creates a fresh database on that server (and drops it afterwards), and --instances
starts that many app processes on it, the load spread evenly over them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa
from harness import World, load_average, pct, servers, settle
from loadgen import Result, closed_loop, request, run


class Scans:
    """The check-in requests: each phone once, round-robin over sessions, with the code shown now."""

    def __init__(self, world: World) -> None:
        self.world = world
        per_session = [world.phones[s] for s in world.session_ids]
        self.order = iter([p for group in zip(*per_session, strict=False) for p in group])
        self.tokens: dict[int, tuple[int, str]] = {}
        self.sent = 0

    def token(self, session_id: int) -> str:
        window = int(time.time()) // self.world.rotation_s
        cached = self.tokens.get(session_id)
        if cached is None or cached[0] != window:
            cached = (window, self.world.token(session_id, datetime.now(UTC)))
            self.tokens[session_id] = cached
        return cached[1]

    def __call__(self, port: int) -> bytes | None:
        phone = next(self.order, None)
        if phone is None:
            return None
        self.sent += 1
        body = json.dumps({"session_id": phone.session_id, "token": self.token(phone.session_id),
                           "direction": "in"}).encode()
        return request("POST", "/api/checkin/scan", body=body, cookie=phone.cookie, port=port)


def fixed(method: str, path: str) -> Callable[[int], bytes]:
    built: dict[int, bytes] = {}

    def make(port: int) -> bytes:
        if port not in built:
            built[port] = request(method, path, body=b"{}" if method == "POST" else b"", port=port)
        return built[port]
    return make


def line(name: str, r: Result, cpu: float) -> str:
    """One figure; `cpu` is the servers' CPU as % of one core, so CPU per request does not depend on other load."""
    bad = {k: v for k, v in r.statuses.items() if k != 200}
    extra = f"  non-200: {bad}" if bad else ""
    if r.errors:
        extra += f"  connection errors: {r.errors}"
    per = 10 * cpu / r.rate if r.rate else float("nan")
    return (f"  {name:<12} {r.rate:7.0f}/s  p50 {pct(r.latencies, 0.5):7.2f} ms  p99 {pct(r.latencies, 0.99):7.2f} ms"
            f"  server CPU {cpu:3.0f}% = {per:.2f} ms/request{extra}")


async def measure(ports: list[int], clients: int, seconds: float, scans: Scans,
                  cpu: Callable[[], float]) -> dict[str, tuple[Result, float]]:
    out: dict[str, tuple[Result, float]] = {}
    for name, make in (("constant", fixed("GET", "/bench/constant")), ("bare insert", fixed("POST", "/bench/insert")),
                       ("QR check-in", scans)):
        await settle(cpu)  # the previous figure's queued re-evaluations are not counted against this one
        c0, t0 = cpu(), time.perf_counter()
        result = await closed_loop(ports, clients, make, seconds, keep_bodies=3)
        share = 100 * (cpu() - c0) / (time.perf_counter() - t0)
        out[name] = (result, share)
        for body in result.bodies:
            print(f"    sample refusal: {body[:200]!r}")
    return out


@contextmanager
def fresh_postgres(url: str | None) -> Iterator[str | None]:
    """A new database on the server `url` points at, dropped afterwards; None for SQLite."""
    if not url:
        yield None
        return
    import asyncpg

    server = sa.engine.make_url(url)
    dsn = server.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"checkin_bench_{secrets.token_hex(4)}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="", help="a PostgreSQL server URL (a fresh database is made on it)")
    parser.add_argument("--instances", type=int, default=1, help="app processes sharing the database")
    parser.add_argument("--clients", default="32,256", help="comma-separated client counts")
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per figure (after 1 s warm-up)")
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--roster", type=int, default=400, help="people per session (each scans once)")
    parser.add_argument("--requirements", default="", metavar="PRESET",
                        help="give the programmes this programme preset's completion requirements (e.g. coaching), "
                             "so every check-in queues a re-evaluation")
    parser.add_argument("--plain", action="store_true", help="serve with h11 and asyncio's loop, not httptools/uvloop")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting for the servers, e.g. CHECKIN_WATCHER=false to see what the watcher costs")
    args = parser.parse_args()
    env = dict(item.split("=", 1) for item in args.env)
    world_size = {"sessions_n": args.sessions, "roster_n": args.roster, "preset": args.requirements}
    with fresh_postgres(args.url) as pg_url, servers(pg_url, args.instances, world=world_size, env=env,
                                                     plain=args.plain) as (procs, world, _db_url):
        assert world is not None
        backend = "PostgreSQL" if pg_url else "SQLite"
        print(f"{backend}, {len(procs)} app process(es){' (h11, asyncio loop)' if args.plain else ''}"
              f"{' with ' + ' '.join(args.env) if args.env else ''}, "
              f"{args.requirements + ' requirements' if args.requirements else 'no completion requirements'}, "
              f"{len(world.all_phones()):,} phones in "
              f"{len(world.session_ids)} sessions; load average {load_average()} before start")
        scans = Scans(world)
        ports = [p.port for p in procs]

        def cpu() -> float:
            return sum(p.cpu_seconds() for p in procs)

        for clients in (int(c) for c in args.clients.split(",")):
            got = run(measure(ports, clients, args.seconds, scans, cpu))
            assert isinstance(got, dict)
            print(f"{clients} clients:")
            for name, (result, share) in got.items():
                print(line(name, result, share))
            checkin, insert, constant = got["QR check-in"][0], got["bare insert"][0], got["constant"][0]
            print(f"  ratio: check-in / bare insert {checkin.rate / insert.rate:.2f}, "
                  f"check-in / constant {checkin.rate / constant.rate:.2f}")
        print(f"server RSS at the end: {', '.join(f'{p.rss_mb():.0f} MB' for p in procs)}")


if __name__ == "__main__":
    main()
