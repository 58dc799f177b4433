"""SQLite off the request path: checkpoints on a background task, and a writer that waits on the loop, not in SQLite."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from checkin.storage import database
from checkin.storage.database import Database, Tx
from checkin.storage.tables import organisations

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def _insert_org(tx: Tx) -> int:
    stmt = sa.insert(organisations).values(name="Org", safeguarding_chain=[], bank_holidays=[], created_at=NOW)
    return int((await tx.conn.execute(stmt.returning(organisations.c.id))).scalar_one())


async def _started(tmp_path: Path, **options: float) -> Database:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}", **options)  # type: ignore[arg-type]
    await db.start()
    return db


async def test_the_writer_connection_never_checkpoints_inside_a_commit(tmp_path: Path) -> None:
    db = await _started(tmp_path)
    try:
        async with db.writer_engine.connect() as conn:
            autocheckpoint = (await conn.exec_driver_sql("PRAGMA wal_autocheckpoint")).scalar()
            mode = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar()
    finally:
        await db.close()
    assert (mode, autocheckpoint) == ("wal", 0)


async def test_a_checkpoint_copies_every_committed_frame_into_the_database(tmp_path: Path) -> None:
    db = await _started(tmp_path, checkpoint_interval=3600, checkpoint_after=10**9)
    try:
        for _ in range(20):
            await db.write(_insert_org)
        busy, frames, copied = await db.checkpoint()
    finally:
        await db.close()
    assert (busy, frames > 0, copied) == (0, True, frames)


async def test_the_writer_keeps_its_savepoint_journals_in_memory(tmp_path: Path) -> None:
    db = await _started(tmp_path)
    try:
        async with db.writer_engine.connect() as conn:
            temp_store = (await conn.exec_driver_sql("PRAGMA temp_store")).scalar()
    finally:
        await db.close()
    assert temp_store == 2  # MEMORY


def _frames(path: Path) -> int:
    """Frames in the WAL now, as a passive checkpoint from another connection reports them."""
    other = sqlite3.connect(path, isolation_level=None)
    try:
        return int(other.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1])
    finally:
        other.close()


async def _checkpoint_during_a_write(db: Database, path: Path) -> tuple[int, int]:
    """Frames in the WAL when a checkpoint runs while a unit is open, and after the next write.

    The open unit commits after the passive copy, as under steady load: its frames are not yet
    copied when the next write begins, so SQLite itself would not start the log again.
    """
    for _ in range(20):
        await db.write(_insert_org)
    inside, go_on = asyncio.Event(), asyncio.Event()

    async def held_open(tx: Tx) -> int:
        inside.set()
        await go_on.wait()
        return await _insert_org(tx)

    write = asyncio.create_task(db.write(held_open))
    await inside.wait()
    checkpoint = asyncio.create_task(db.checkpoint())
    for _ in range(1000):
        if db.checkpoints:  # the passive copy has run
            break
        await asyncio.sleep(0.001)
    go_on.set()
    await write
    _, before, _ = await checkpoint
    await db.write(_insert_org)
    return before, _frames(path)


async def test_a_checkpoint_during_steady_writes_starts_the_log_again_from_its_beginning(tmp_path: Path) -> None:
    db = await _started(tmp_path, checkpoint_interval=3600, checkpoint_after=10**9, restart_after_frames=1)
    try:
        before, after = await _checkpoint_during_a_write(db, tmp_path / "w.db")
    finally:
        await db.close()
    assert (db.restarts, after < before) == (1, True)


async def test_a_log_below_the_restart_size_is_copied_but_not_rewound(tmp_path: Path) -> None:
    db = await _started(tmp_path, checkpoint_interval=3600, checkpoint_after=10**9, restart_after_frames=10**6)
    try:
        before, after = await _checkpoint_during_a_write(db, tmp_path / "w.db")
    finally:
        await db.close()
    assert (db.restarts, after > before) == (0, True)


async def test_a_reader_on_an_old_snapshot_makes_the_restart_wait_for_the_next_checkpoint(tmp_path: Path) -> None:
    db = await _started(tmp_path, checkpoint_interval=3600, checkpoint_after=10**9, restart_after_frames=1)
    reader = sqlite3.connect(tmp_path / "w.db", isolation_level=None, check_same_thread=False)
    try:
        await db.write(_insert_org)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM organisations").fetchone()  # holds the snapshot with that frame
        await db.write(_insert_org)
        await db.checkpoint()
        await db.write(_insert_org)  # the writer is not held up by the restart that gave up
        reader.execute("COMMIT")
        restarted_while_read = db.restarts
        await db.checkpoint()
    finally:
        reader.close()
        await db.close()
    assert (restarted_while_read, db.restarts) == (0, 1)


async def test_the_background_task_checkpoints_once_enough_units_have_committed(tmp_path: Path) -> None:
    db = await _started(tmp_path, checkpoint_interval=3600, checkpoint_after=5)
    try:
        for _ in range(5):
            await db.write(_insert_org)
        for _ in range(200):
            if db.checkpoints:
                break
            await asyncio.sleep(0.01)
        done = db.checkpoints
    finally:
        await db.close()
    assert done == 1


async def test_the_background_task_checkpoints_a_quiet_database_after_the_interval(tmp_path: Path) -> None:
    db = await _started(tmp_path, checkpoint_interval=0.05, checkpoint_after=10**9)
    try:
        idle_before = db.checkpoints
        await asyncio.sleep(0.2)
        idle_after = db.checkpoints
        await db.write(_insert_org)
        for _ in range(200):
            if db.checkpoints > idle_after:
                break
            await asyncio.sleep(0.01)
        written = db.checkpoints
    finally:
        await db.close()
    assert (idle_before, idle_after, written) == (0, 0, 1)


async def test_a_write_waits_for_another_connection_s_lock_while_the_loop_keeps_running(tmp_path: Path) -> None:
    db = await _started(tmp_path)
    other = sqlite3.connect(tmp_path / "w.db", isolation_level=None, check_same_thread=False)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    try:
        other.execute("BEGIN IMMEDIATE")
        asyncio.get_running_loop().call_later(0.3, other.execute, "COMMIT")
        ticker = asyncio.create_task(tick())
        org_id = await db.write(_insert_org)
        ticker.cancel()
    finally:
        other.close()
        await db.close()
    assert org_id == 1 and ticks >= 20


async def test_the_writer_writes_again_after_a_batch_that_failed_as_a_whole(tmp_path: Path,
                                                                                monkeypatch) -> None:
    db = await _started(tmp_path)
    other = sqlite3.connect(tmp_path / "w.db", isolation_level=None, check_same_thread=False)
    monkeypatch.setattr(database, "WRITE_LOCK_WAIT_S", 0.05)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(OperationalError):
            await db.write(_insert_org)
        other.execute("COMMIT")
        org_id = await db.write(_insert_org)
    finally:
        other.close()
        await db.close()
    assert org_id == 1
