"""Prepared statements give the same values as SQLAlchemy's own execution, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from checkin.storage.database import Database, Tx
from checkin.storage.prepared import Derived, Prepared, in_ids
from checkin.storage.tables import organisations
from tests.conftest import both_backends

NOW = datetime(2026, 3, 2, 9, 0, 5, 123456, tzinfo=UTC)
_INSERT = Prepared(sa.insert(organisations).returning(organisations.c.id))
_READ = Prepared(sa.select(organisations.c.id, organisations.c.name.label("title"), organisations.c.created_at,
                           organisations.c.safeguarding_chain)
                 .where(organisations.c.id == sa.bindparam("org_id")))
_NAMES = Prepared(lambda dialect: sa.select(organisations.c.name).where(in_ids(organisations.c.id, "ids", dialect))
                  .order_by(organisations.c.id))
_RENAME = Prepared(sa.update(organisations).where(organisations.c.id == sa.bindparam("org_id")))


async def _new_org(db: Database) -> int:
    async def work(tx: Tx) -> int:
        return int(await _INSERT.scalar(tx.conn, {"name": "Northfield Tutors", "created_at": NOW,
                                                  "safeguarding_chain": [{"role": "dsl"}], "bank_holidays": []}))

    return await db.write(work)


@both_backends
async def test_a_prepared_read_gives_what_sqlalchemy_reads(db: Database) -> None:
    org_id = await _new_org(db)
    async with db.read() as conn:
        prepared = await _READ.first(conn, {"org_id": org_id})
        plain = (await conn.execute(_READ.statement(conn.dialect.name), {"org_id": org_id})).one()
    assert tuple(prepared) == tuple(plain) == (org_id, "Northfield Tutors", NOW, [{"role": "dsl"}])
    assert prepared.title == "Northfield Tutors"
    assert prepared._mapping["created_at"] == NOW


@both_backends
async def test_a_prepared_update_counts_the_rows_it_changed(db: Database) -> None:
    org_id = await _new_org(db)

    async def work(tx: Tx) -> tuple[int, int]:
        return (await _RENAME.run(tx.conn, {"name": "Eastgate AP", "org_id": org_id}),
                await _RENAME.run(tx.conn, {"name": "Nobody", "org_id": org_id + 1000}))

    assert await db.write(work) == (1, 0)
    async with db.read() as conn:
        assert (await _READ.first(conn, {"org_id": org_id})).title == "Eastgate AP"


@both_backends
async def test_a_prepared_read_of_nothing_is_none(db: Database) -> None:
    async with db.read() as conn:
        assert await _READ.first(conn, {"org_id": 999}) is None
        assert await _READ.scalar(conn, {"org_id": 999}) is None


async def test_a_missing_parameter_is_refused_before_anything_runs(tmp_path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'p.db'}")
    await database.start()
    try:
        async with database.read() as conn:
            with pytest.raises(KeyError):
                await _READ.first(conn, {})
    finally:
        await database.close()


@both_backends
async def test_a_prepared_write_breaking_a_constraint_raises_sqlalchemys_integrity_error(db: Database) -> None:
    org_id = await _new_org(db)

    async def work(tx: Tx) -> None:
        await _INSERT.scalar(tx.conn, {"id": org_id, "name": "Copy", "created_at": NOW, "safeguarding_chain": [],
                                       "bank_holidays": []})

    with pytest.raises(sa.exc.IntegrityError):
        await db.write(work)


@both_backends
async def test_a_list_parameter_selects_the_rows_whose_ids_it_holds(db: Database) -> None:
    first, _, third = [await _new_org(db) for _ in range(3)]

    async def rename(tx: Tx) -> int:
        return await _RENAME.run(tx.conn, {"name": "Third", "org_id": third})

    await db.write(rename)
    async with db.read() as conn:
        chosen = [r.name for r in await _NAMES.rows(conn, {"ids": [third, first]})]
        longer = [r.name for r in await _NAMES.rows(conn, {"ids": [first, third, 999_999]})]
        empty = await _NAMES.rows(conn, {"ids": []})
    assert (chosen, longer, empty) == (["Northfield Tutors", "Third"], ["Northfield Tutors", "Third"], [])


_MEMO_READ = Prepared(sa.select(organisations.c.id, organisations.c.name, organisations.c.safeguarding_chain)
                      .where(organisations.c.id == sa.bindparam("org_id")), memo=8)


async def test_a_memoised_read_of_unchanged_values_gives_the_same_row(db: Database) -> None:
    org_id = await _new_org(db)
    async with db.read() as conn:
        first = await _MEMO_READ.first(conn, {"org_id": org_id})
        again = await _MEMO_READ.first(conn, {"org_id": org_id})
    assert again is first


async def test_a_memoised_read_of_changed_values_gives_the_new_values(db: Database) -> None:
    org_id = await _new_org(db)
    async with db.read() as conn:
        before = await _MEMO_READ.first(conn, {"org_id": org_id})

    async def rename(tx: Tx) -> None:
        await _RENAME.run(tx.conn, {"name": "Eastgate AP", "org_id": org_id})

    await db.write(rename)
    async with db.read() as conn:
        after = await _MEMO_READ.first(conn, {"org_id": org_id})
    assert (before.name, after.name) == ("Northfield Tutors", "Eastgate AP")


def test_a_derived_value_is_made_once_per_row_object() -> None:
    made: list[tuple[int]] = []
    derived = Derived(lambda row: made.append(row) or len(made))
    row, equal_row = (1,), tuple([1])
    assert (derived(row), derived(row), derived(equal_row)) == (1, 1, 2)
