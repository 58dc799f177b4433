"""Watcher benchmark: lateness of firings under a burst, and CPU while idle, with many deadlines pending.

    python bench/watcher_bench.py                      # SQLite in a temporary directory
    python bench/watcher_bench.py --url postgresql+asyncpg://user@127.0.0.1:5432/postgres   # a fresh database there

It writes `--pending` deadlines (default 100,000), of which `--due` (default 1,000) are AP-NOSHOW
deadlines for sessions with one unmarked pupil each, falling due evenly across one minute; the
rest fall due days later. With the real watcher running on the real clock it prints:
- idle: the process CPU time over ~10 s while nothing is due, and the cost of one idle pass;
- lateness: from each deadline's due time to its no-show alert being committed and published
  (median, p99, max), beside the bare ceiling of one empty unit of work through the same database.
It prints figures; it is not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from checkin_bench import fresh_postgres

from checkin.clock import system_clock
from checkin.context import AppContext
from checkin.domain.rules import DeadlineSpec, preset
from checkin.live.hub import Event, Hub
from checkin.services.deadlines import deadline_key
from checkin.services.orgs import ensure_org
from checkin.settings import Settings
from checkin.storage.database import Database, Tx
from checkin.storage.tables import (
    contacts,
    deadlines,
    organisations,
    people,
    programmes,
    roster,
    session_tutors,
    sessions,
    users,
)
from checkin.watcher import Watcher, run_watcher

CHUNK = 5_000


class TimedHub(Hub):
    """The hub, noting when each alert event is published (right after its commit)."""

    def __init__(self, queue_size: int, expected: int) -> None:
        super().__init__(queue_size)
        self.alert_times: dict[int, float] = {}
        self.expected = expected
        self.all_in = asyncio.Event()

    def publish(self, channel: str, event: Event) -> None:
        if event.get("type") == "alert":
            self.alert_times[int(event["data"]["id"])] = time.time()
            if len(self.alert_times) >= self.expected:
                self.all_in.set()
        super().publish(channel, event)


async def insert_chunks(tx: Tx, table: sa.Table, values: list[dict[str, Any]]) -> list[int]:
    ids: list[int] = []
    for i in range(0, len(values), CHUNK):
        part = values[i:i + CHUNK]
        if "id" in table.c:
            ids += [int(x) for x in (await tx.conn.execute(sa.insert(table).returning(table.c.id), part)).scalars()]
        else:
            await tx.conn.execute(sa.insert(table), part)
    return ids


async def populate(db: Database, org: int, pending: int, due: int, first_due: datetime) -> None:
    """`due` AP sessions whose no-show deadlines fall across one minute from `first_due`, and the rest later."""
    now = system_clock()

    async def work(tx: Tx) -> None:
        c = tx.conn
        await c.execute(sa.update(organisations).where(organisations.c.id == org)
                        .values(ap_office_email="ap-office@example.org"))
        tutor = (await c.execute(sa.insert(users).values(
            org_id=org, email="tutor@example.org", name="Tess Tutor", role="tutor", created_at=now)
            .returning(users.c.id))).scalar_one()
        programme = (await c.execute(sa.insert(programmes).values(
            org_id=org, name="AP Tuition", preset="ap_tuition", code_set="dfe_2024",
            policy=preset("ap_tuition").to_dict(), requirements=[], reasons=[], weekly_report_to=[],
            created_at=now, updated_at=now).returning(programmes.c.id))).scalar_one()
        later = max(pending - due, 0)
        future_count = (later + 2) // 3
        starts = [first_due - timedelta(minutes=15) + timedelta(seconds=60 * i / max(due, 1)) for i in range(due)]
        starts += [now + timedelta(days=1, minutes=5 * i) for i in range(future_count)]
        session_ids = await insert_chunks(tx, sessions, [
            dict(org_id=org, programme_id=programme, title=f"Maths {i}", kind="ap_tuition", mode="face_to_face",
                 starts_at=s, ends_at=s + timedelta(hours=1), created_at=now, updated_at=now)
            for i, s in enumerate(starts)])
        pupils = await insert_chunks(tx, people, [
            dict(org_id=org, first_name=f"Pupil{i}", last_name="Example", email=f"pupil{i}@example.org",
                 ap_pupil=True, created_at=now) for i in range(due)])
        await insert_chunks(tx, roster, [dict(session_id=s, person_id=p, added_at=now)
                                         for s, p in zip(session_ids[:due], pupils, strict=True)])
        await insert_chunks(tx, session_tutors, [dict(session_id=s, user_id=tutor) for s in session_ids[:due]])
        await insert_chunks(tx, contacts, [dict(person_id=p, kind="emergency", name="Parent Example",
                                                relationship="parent", phone="07700 900111", created_at=now)
                                           for p in pupils])
        rows = []
        for s, start in zip(session_ids[:due], starts[:due], strict=True):
            spec = DeadlineSpec("AP-NOSHOW", None, start + timedelta(minutes=15))
            rows.append(dict(org_id=org, session_id=s, rule_id=spec.rule_id, key=deadline_key(spec, s),
                             due_at=spec.due_at, created_at=now))
        for s, start in zip(session_ids[due:], starts[due:], strict=True):
            for rule_id, minutes in (("AP-NOSHOW", 15), ("AP-REPORT", 15), ("AP-DSL", 60)):
                if len(rows) < pending:
                    spec = DeadlineSpec(rule_id, None, start + timedelta(minutes=minutes))
                    rows.append(dict(org_id=org, session_id=s, rule_id=rule_id, key=deadline_key(spec, s),
                                     due_at=spec.due_at, created_at=now))
        await insert_chunks(tx, deadlines, rows)

    await db.write(work)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def bare_unit_ms(db: Database, n: int = 200) -> float:
    """The ceiling: one empty unit of work through the same writer (queue, BEGIN, COMMIT)."""
    async def work(tx: Tx) -> None:
        await tx.conn.execute(sa.text("SELECT 1"))

    times = []
    for _ in range(n):
        t = time.perf_counter()
        await db.write(work)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


async def idle_pass_ms(watcher: Watcher, n: int = 200) -> float:
    """One wake-up with nothing due (the earliest-due query on a reader; no write unit)."""
    t = time.perf_counter()
    for _ in range(n):
        await watcher.step()
    return (time.perf_counter() - t) * 1000 / n


async def main(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="watcher-bench-"))
    try:
        await _measure(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


async def _measure(args: argparse.Namespace, tmp: Path) -> None:
    url = args.url or f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    settings = Settings.from_env({}, data_dir=tmp, database_url=url, secret_key="bench-secret-" + "b" * 40)
    db = Database(url)
    await db.start()
    hub = TimedHub(args.due * 4 + 100, args.due)
    async with httpx.AsyncClient() as http:
        ctx = AppContext(settings, db, hub, system_clock, http)
        org = await ensure_org(db, "Bench org", "Europe/London", system_clock())
        t = time.perf_counter()
        # Far enough ahead to write the data, take the idle figures, and still be waiting when it falls due.
        first_due = datetime.now(UTC) + timedelta(seconds=args.idle_seconds + args.setup_seconds)
        await populate(db, org, args.pending, args.due, first_due)
        print(f"backend: {'sqlite' if db.sqlite else 'postgresql'}; wrote {args.pending:,} pending deadlines "
              f"({args.due:,} due across one minute) in {time.perf_counter() - t:.1f} s")
        bare = await bare_unit_ms(db)
        async with run_watcher(ctx, batch_size=args.batch) as watcher:
            assert watcher is not None
            await asyncio.sleep(1.0)
            per_pass = await idle_pass_ms(watcher)
            wait = (first_due - system_clock()).total_seconds() - args.idle_seconds - 1
            await asyncio.sleep(max(wait, 0))
            cpu0, wall0 = time.process_time(), time.perf_counter()
            await asyncio.sleep(args.idle_seconds)
            idle_cpu, idle_wall = time.process_time() - cpu0, time.perf_counter() - wall0
            print(f"idle: {idle_cpu * 1000:.1f} ms CPU over {idle_wall:.1f} s "
                  f"({100 * idle_cpu / idle_wall:.3f}% of a core); one idle wake-up "
                  f"{per_pass:.2f} ms; watcher batch {watcher.batch_size}")
            cpu1 = time.process_time()
            limit = 60 + args.drain_seconds + (first_due - system_clock()).total_seconds()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(hub.all_in.wait(), limit)
            burst_cpu = time.process_time() - cpu1
        async with db.read() as conn:
            rows = (await conn.execute(sa.select(deadlines.c.due_at, deadlines.c.result).where(
                deadlines.c.fired_at.is_not(None)))).all()
    lateness = []
    for due_at, result in rows:
        for step in (result or {}).get("did", []):
            if step.get("type") == "alert" and step["alert_id"] in hub.alert_times:
                lateness.append(hub.alert_times[step["alert_id"]] - due_at.timestamp())
    await db.close()
    if not lateness:
        print("no alerts were raised: nothing to report")
        return
    ms = [x * 1000 for x in lateness]
    print(f"lateness (due -> alert committed and published) over {len(ms)} firings: "
          f"median {statistics.median(ms):.0f} ms, p99 {pct(ms, 0.99):.0f} ms, max {max(ms):.0f} ms; "
          f"bare unit of work {bare:.2f} ms (median/bare {statistics.median(ms) / bare:.0f}x)")
    print(f"burst: {burst_cpu:.2f} s CPU for {len(ms)} firings ({burst_cpu * 1000 / len(ms):.1f} ms each)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="", help="a PostgreSQL server URL (a fresh database is made on it and "
                        "dropped afterwards; default: a new SQLite file)")
    parser.add_argument("--pending", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--batch", type=int, default=None, help="deadlines per firing unit (default: the watcher's)")
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument("--drain-seconds", type=float, default=120.0)
    parser.add_argument("--setup-seconds", type=float, default=45.0, help="time allowed to write the data")
    arguments = parser.parse_args()
    with fresh_postgres(arguments.url) as fresh_url:
        arguments.url = fresh_url or ""
        asyncio.run(main(arguments))
