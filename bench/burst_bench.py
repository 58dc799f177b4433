"""A burst on top of steady load: 100 check-ins to one session within one second, over a steady 200 per second.

    python bench/burst_bench.py
    python bench/burst_bench.py --url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres --instances 2

The load is open-loop: every request is sent at its scheduled time whatever the server is
doing (on a pool of keep-alive connections), and its latency runs from the scheduled time, so
a stall shows up as latency instead of as fewer requests. The steady 200/s are check-ins
spread over every session; at --burst-at seconds, 100 more check-ins, all to one session,
arrive at random moments within one second (a coach emptying at the door). The same schedule
is then replayed against /bench/insert (one bare insert per request) as the ceiling.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Callable

from checkin_bench import fresh_postgres
from harness import Phone, World, load_average, pct, servers
from loadgen import Result, open_loop, request, run

Plan = list[tuple[float, int, Callable[[], bytes], str]]


def plan(world: World, ports: list[int], seconds: float, steady: float, burst: int, burst_at: float,
         bare: bool) -> Plan:
    """The schedule: steady check-ins round the sessions, and the burst's to the first session."""
    rng = random.Random(7)
    target = world.session_ids[0]
    crowd = iter(world.phones[target])
    others = iter([p for group in zip(*(world.phones[s] for s in world.session_ids[1:]), strict=False)
                   for p in group])
    timed = [(i / steady, "steady") for i in range(int(seconds * steady))]
    timed += [(burst_at + rng.random(), "burst") for _ in range(burst)]
    timed.sort()
    out: Plan = []
    for i, (t, tag) in enumerate(timed):
        port = ports[i % len(ports)]
        phone = next(crowd) if tag == "burst" else next(others)
        out.append((t, port, bare_insert(port) if bare else scan(world, phone, port), tag))
    return out


def scan(world: World, phone: Phone, port: int) -> Callable[[], bytes]:
    def build() -> bytes:  # the code the display shows when the phone sends it
        body = json.dumps({"session_id": phone.session_id, "token": world.token(phone.session_id),
                           "direction": "in"}).encode()
        return request("POST", "/api/checkin/scan", body=body, cookie=phone.cookie, port=port)
    return build


def bare_insert(port: int) -> Callable[[], bytes]:
    data = request("POST", "/bench/insert", body=b"{}", port=port)
    return lambda: data


def figures(name: str, result: Result) -> str:
    burst, steady = result.tagged("burst"), result.tagged("steady")
    bad = {k: v for k, v in result.statuses.items() if k != 200}
    return (f"  {name:<12} burst p50 {pct(burst, 0.5):6.1f} ms  p99 {pct(burst, 0.99):6.1f} ms  max "
            f"{max(burst, default=float('nan')):6.1f} ms | steady p50 {pct(steady, 0.5):6.1f} ms  p99 "
            f"{pct(steady, 0.99):6.1f} ms  max {max(steady, default=float('nan')):6.1f} ms"
            f"{f'  non-200: {bad}' if bad else ''}{f'  errors: {result.errors}' if result.errors else ''}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="", help="a PostgreSQL server URL (a fresh database is made on it)")
    parser.add_argument("--instances", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--steady", type=float, default=200.0, help="check-ins per second over every session")
    parser.add_argument("--burst", type=int, default=100, help="check-ins to one session within one second")
    parser.add_argument("--burst-at", type=float, default=5.0)
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting for the servers, e.g. CHECKIN_WATCHER=false to see what the watcher costs")
    args = parser.parse_args()
    env = dict(item.split("=", 1) for item in args.env)
    sessions = 50
    per_session = max(args.burst, int(args.seconds * args.steady / (sessions - 1)) + 1)
    with fresh_postgres(args.url) as pg_url, servers(pg_url, args.instances, env=env, world={
            "sessions_n": sessions, "roster_n": per_session}) as (procs, world, _):
        assert world is not None
        ports = [p.port for p in procs]
        extra = f" with {' '.join(args.env)}" if args.env else ""
        print(f"{'PostgreSQL' if pg_url else 'SQLite'}, {len(procs)} app process(es){extra}: {args.steady:.0f} "
              f"check-ins/s for {args.seconds:.0f} s, plus {args.burst} to one session within 1 s at "
              f"{args.burst_at:.0f} s; load average {load_average()}")
        results = {}
        for name, bare in (("bare insert", True), ("QR check-in", False)):
            got = run(open_loop(ports, plan(world, ports, args.seconds, args.steady, args.burst, args.burst_at,
                                            bare), connections=64))
            assert isinstance(got, Result)
            results[name] = got
            print(figures(name, got))
            for body in got.bodies:
                print(f"    sample refusal: {body[:200]!r}")
        ratio = pct(results["QR check-in"].tagged("burst"), 0.99) / pct(results["bare insert"].tagged("burst"), 0.99)
        print(f"  ratio: burst p99 check-in / bare insert {ratio:.1f}")


if __name__ == "__main__":
    main()
