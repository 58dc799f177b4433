"""Who fires what: the SQLite lease, SKIP LOCKED claims on PostgreSQL, and the indexed queries."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from checkin.clock import DrivenClock
from checkin.context import AppContext
from checkin.storage.database import Tx
from checkin.storage.tables import deadlines, leases
from checkin.watcher.claim import Lease, claim_due, due_query, new_holder, next_due, next_due_query
from checkin.watcher.loop import Watcher
from checkin.watcher.runner import fire_due
from tests.watcher.scenarios import alerts_of, ap_session, rows

postgres_only = pytest.mark.parametrize("backend", ["postgres"], indirect=True)


async def _pending(ctx: AppContext, dues: list[datetime]) -> list[int]:
    """Deadline rows (no session: they would fire as skipped) due at `dues`."""
    async def work(tx: Tx) -> list[int]:
        ids = []
        for i, due in enumerate(dues):
            ids.append(int((await tx.conn.execute(sa.insert(deadlines).values(
                org_id=ctx.extras["org_id"], rule_id="TUTOR-EARLY", key=f"TEST:{i}:0", due_at=due, created_at=due)
                .returning(deadlines.c.id))).scalar_one()))
        return ids

    return await ctx.db.write(work)


async def test_a_second_process_cannot_take_a_lease_another_holds(ctx: AppContext) -> None:
    first, second = Lease(ctx.db, "process-a"), Lease(ctx.db, "process-b")
    assert (await first.acquire(), await second.acquire(), await first.acquire()) == (True, False, True)


async def test_an_expired_lease_passes_to_the_next_process(ctx: AppContext) -> None:
    await Lease(ctx.db, "process-a", ttl_seconds=-1).acquire()
    taken = await Lease(ctx.db, "process-b").acquire()
    [row] = await rows(ctx, leases)
    assert (taken, row.holder) == (True, "process-b")


async def test_the_lease_of_a_process_that_died_passes_on_at_once(ctx: AppContext) -> None:
    gone = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await gone.wait()
    await Lease(ctx.db, f"{socket.gethostname()}:{gone.pid}:deadbeef").acquire()
    assert await Lease(ctx.db, new_holder()).acquire()


async def test_the_lease_of_a_live_process_elsewhere_on_this_host_is_kept(ctx: AppContext) -> None:
    await Lease(ctx.db, f"{socket.gethostname()}:{os.getppid()}:cafe").acquire()
    assert not await Lease(ctx.db, new_holder()).acquire()


async def test_releasing_the_lease_lets_another_process_take_it_at_once(ctx: AppContext) -> None:
    first = Lease(ctx.db, "process-a")
    await first.acquire()
    await first.release()
    assert await Lease(ctx.db, "process-b").acquire()


async def test_a_watcher_without_the_lease_fires_nothing(ctx: AppContext, clock: DrivenClock) -> None:
    s = await ap_session(ctx, clock() - timedelta(minutes=10))
    holder, other = Watcher(ctx, holder="process-a"), Watcher(ctx, holder="process-b")
    await holder.lease.acquire()  # type: ignore[union-attr]
    clock.advance(minutes=10)
    assert (await other.fire_due_now(), await alerts_of(ctx, s.session_id)) == (0, [])
    assert await holder.fire_due_now() == 2


async def test_a_firing_unit_whose_lease_was_taken_meanwhile_fires_nothing(
        ctx: AppContext, clock: DrivenClock) -> None:
    await _pending(ctx, [clock()])
    await Lease(ctx.db, "process-a").acquire()

    async def work(tx: Tx) -> object:
        return await fire_due(tx, ctx, clock(), limit=10, holder="process-b", lease=True)

    result = await ctx.db.write(work)
    assert (result.lease_lost, result.claimed) == (True, 0)  # type: ignore[attr-defined]


async def test_the_next_due_is_the_earliest_unfired_deadline_not_held_back(ctx: AppContext) -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    ids = await _pending(ctx, [now + timedelta(minutes=m) for m in (5, 1, 3)])

    async def settle(tx: Tx) -> None:
        await tx.conn.execute(sa.update(deadlines).where(deadlines.c.id == ids[1]).values(fired_at=now))
        await tx.conn.execute(sa.update(deadlines).where(deadlines.c.id == ids[2])
                              .values(claimed_until=now + timedelta(minutes=10)))

    await ctx.db.write(settle)
    async with ctx.db.read() as conn:
        assert await next_due(conn, now) == now + timedelta(minutes=5)


async def test_claiming_takes_due_rows_earliest_first_up_to_the_limit(ctx: AppContext) -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    ids = await _pending(ctx, [now - timedelta(minutes=m) for m in (1, 3, 2)] + [now + timedelta(seconds=1)])
    async with ctx.db.read() as conn:
        claimed = [r.id for r in await claim_due(conn, now, 2)]
    assert claimed == [ids[1], ids[2]]


async def test_the_sleep_and_claim_queries_walk_the_pending_index(ctx: AppContext) -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    queries = [next_due_query(now), due_query(now, 100)]
    async with ctx.db.read() as conn:
        plans = []
        for q in queries:
            sql = str(q.compile(conn.sync_connection, compile_kwargs={"literal_binds": True}))
            plans.append(" ".join(r[-1] for r in (await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")).all()))
    assert all("ix_deadlines_pending" in p and "TEMP B-TREE" not in p for p in plans), plans


@postgres_only
async def test_on_postgresql_the_next_due_query_reads_the_index_in_order_without_sorting(ctx: AppContext) -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    await _pending(ctx, [now + timedelta(minutes=m) for m in range(200)])
    async with ctx.db.read() as conn:
        await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        sql = str(next_due_query(now).compile(conn.sync_connection, compile_kwargs={"literal_binds": True}))
        plan = "\n".join(r[0] for r in (await conn.exec_driver_sql(f"EXPLAIN {sql}")).all())
    assert "Index Scan using ix_deadlines_pending" in plan and "Sort" not in plan, plan


@postgres_only
async def test_a_second_transaction_skips_rows_the_first_has_claimed(ctx: AppContext) -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    ids = await _pending(ctx, [now - timedelta(minutes=m) for m in (4, 3, 2, 1)])
    engine = ctx.db.writer_engine
    async with engine.connect() as first, engine.connect() as second:
        await first.begin()
        await second.begin()
        taken_first = [r.id for r in await claim_due(first, now, 2)]
        taken_second = [r.id for r in await claim_due(second, now, 10)]
        await first.rollback()
        await second.rollback()
    assert (taken_first, taken_second) == (ids[:2], ids[2:])
