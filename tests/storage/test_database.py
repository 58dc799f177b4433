"""The storage entry point on both backends: migrations, units of work, group commit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from checkin.storage.database import Database, Tx
from checkin.storage.events import append, since
from checkin.storage.tables import metadata, organisations
from tests.conftest import both_backends

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def _insert_org(tx: Tx, name: str) -> int:
    stmt = sa.insert(organisations).values(name=name, safeguarding_chain=[], bank_holidays=[], created_at=NOW)
    return int((await tx.conn.execute(stmt.returning(organisations.c.id))).scalar_one())


@both_backends
async def test_the_migrated_schema_matches_the_tables(db: Database) -> None:
    async with db.writer_engine.connect() as conn:
        diff = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), metadata))
    assert diff == []


@both_backends
async def test_a_unit_of_work_commits_and_then_runs_its_hooks(db: Database) -> None:
    seen: list[str] = []

    async def work(tx: Tx) -> int:
        tx.after_commit(lambda: seen.append("published"))
        return await _insert_org(tx, "Org A")

    org_id = await db.write(work)
    async with db.read() as conn:
        name = (await conn.execute(sa.select(organisations.c.name).where(organisations.c.id == org_id))).scalar()
    assert (name, seen) == ("Org A", ["published"])


@both_backends
async def test_a_failing_unit_writes_nothing_and_runs_no_hooks(db: Database) -> None:
    seen: list[str] = []

    async def work(tx: Tx) -> None:
        tx.after_commit(lambda: seen.append("published"))
        await _insert_org(tx, "Half written")
        raise ValueError("boom")

    with pytest.raises(ValueError):
        await db.write(work)
    async with db.read() as conn:
        count = (await conn.execute(sa.select(sa.func.count()).select_from(organisations))).scalar()
    assert (count, seen) == (0, [])


async def test_one_failure_in_a_group_commit_does_not_sink_the_others(tmp_path) -> None:
    import asyncio

    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'g.db'}")
    await db.start()
    try:
        async def good(i: int):
            return await db.write(lambda tx: _insert_org(tx, f"org {i}"))

        async def bad(tx: Tx) -> None:
            await _insert_org(tx, "doomed")
            raise RuntimeError("this unit fails")

        results = await asyncio.gather(*[good(i) for i in range(50)], db.write(bad), return_exceptions=True)
        async with db.read() as conn:
            names = set((await conn.execute(sa.select(organisations.c.name))).scalars())
        assert isinstance(results[-1], RuntimeError)
        assert names == {f"org {i}" for i in range(50)}
        assert db.batches < 51
    finally:
        await db.close()


@both_backends
async def test_events_are_numbered_per_channel_and_replayable(db: Database) -> None:
    async def work(tx: Tx) -> None:
        for i in range(3):
            await append(tx.conn, "session:1", "mark", {"i": i}, NOW)
        await append(tx.conn, "session:2", "mark", {"i": 9}, NOW)

    await db.write(work)
    async with db.read() as conn:
        missed = await since(conn, "session:1", 1, limit=10)
        too_many = await since(conn, "session:1", 0, limit=2)
    assert [e["seq"] for e in missed or []] == [2, 3]
    assert too_many is None
