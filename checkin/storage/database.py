"""The one storage entry point: reads on their own connections, writes as units of work.

Services hand `Database.write` a function of a `Tx`; it runs inside a transaction and its
after-commit hooks (live publishes, wake-ups) run only once the commit is durable. On SQLite
one writer task batches many units into one transaction, each in its own savepoint, so one
failure does not sink the others (group commit). On PostgreSQL each unit is its own
transaction on a pooled connection, so several instances can share the work.

On SQLite the statements run inline on the event loop (storage/engine.py), so nothing on the
request path may wait inside SQLite: the writer takes the write lock without waiting and
retries from the loop while another connection holds it, and WAL checkpoints, which write
and fsync the database file, run on a thread of their own from a background task, never
inside a commit (the writer's automatic checkpoint is off).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.engine import RootTransaction, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from checkin.storage.engine import create_engine, is_sqlite
from checkin.storage.migrate import upgrade
from checkin.storage.prepared import driver_connection

T = TypeVar("T")
log = logging.getLogger(__name__)
Hook = Callable[[], Any]
WRITE_LOCK_WAIT_S = 30.0  # as long as a reader's busy timeout: another process may hold the lock that long
RESTART_WAIT_S = 0.02  # how long a WAL restart, with the writer paused, waits for readers to move on


@dataclass
class Tx:
    """A write in progress: the connection and what to do after it commits."""

    conn: AsyncConnection
    hooks: list[Hook] = field(default_factory=list)

    def after_commit(self, hook: Hook) -> None:
        self.hooks.append(hook)


Work = Callable[[Tx], Awaitable[T]]


@dataclass
class _Job:
    work: Work[Any]
    future: asyncio.Future[Any]


class Database:
    """Owns the engines and the writer task; created and closed by the app's lifespan."""

    def __init__(self, url: str, *, batch_limit: int = 256, pool_size: int = 10, batch_seconds: float = 0.01,
                 checkpoint_interval: float = 1.0, checkpoint_after: int = 1000,
                 restart_after_frames: int = 4096) -> None:
        self.url = url
        self.sqlite = is_sqlite(url)
        self.reader = create_engine(url, pool_size=pool_size)
        self.writer_engine = create_engine(url, writer=True, pool_size=pool_size) if self.sqlite else self.reader
        self._batch_limit = batch_limit
        self.batch_seconds = batch_seconds
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._writer_conn: AsyncConnection | None = None
        self.batches = 0
        self.jobs = 0
        # WAL checkpoints (SQLite): every `checkpoint_interval` seconds after a write, or at once
        # after `checkpoint_after` units, whichever comes first.
        self.checkpoint_interval = checkpoint_interval
        self.checkpoint_after = checkpoint_after
        self.restart_after_frames = restart_after_frames  # 16 MB of 4 KB pages
        self.checkpoints = 0
        self._unchecked = 0
        self._wal_grew = asyncio.Event()
        self._checkpointer: asyncio.Task[None] | None = None
        self._checkpoint_conn: sqlite3.Connection | None = None
        self._checkpoint_lock = threading.Lock()
        self._turn = asyncio.Lock()  # held by the writer for a batch, by the checkpointer to restart the WAL
        self.restarts = 0

    async def start(self, migrate: bool = True) -> None:
        if migrate:
            await _retry_locked(lambda: upgrade(self.writer_engine))
        if self.sqlite:
            self._writer = asyncio.create_task(self._write_loop(), name="checkin-writer")
            self._checkpointer = asyncio.create_task(self._checkpoint_loop(), name="checkin-wal-checkpoint")

    async def close(self) -> None:
        for task in (self._writer, self._checkpointer):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._writer = self._checkpointer = None
        if self._writer_conn is not None:
            await self._writer_conn.close()
            self._writer_conn = None
        if self._checkpoint_conn is not None:
            with self._checkpoint_lock:
                self._checkpoint_conn.close()
            self._checkpoint_conn = None
        await self.reader.dispose()
        if self.writer_engine is not self.reader:
            await self.writer_engine.dispose()

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a read transaction (one consistent snapshot)."""
        if not self.sqlite:
            async with self.reader.connect() as conn, conn.begin():
                yield conn
            return
        async with _inline_connection(self.reader) as conn, _inline_transaction(conn):
            yield conn

    async def write(self, work: Work[T]) -> T:
        """Runs `work` in a transaction, then its after-commit hooks, and returns its result."""
        if not self.sqlite:
            tx: Tx
            async with self.writer_engine.begin() as conn:
                tx = Tx(conn)
                result = await work(tx)
            _run_hooks(tx.hooks)
            return result
        if self._writer is None:
            raise RuntimeError("database not started")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Job(work, future))
        return await future

    async def _write_loop(self) -> None:
        while True:
            job = await self._queue.get()
            async with self._turn:
                await self._run_batch([job])

    async def _run_batch(self, jobs: list[_Job]) -> None:
        outcomes: list[tuple[_Job, Tx | None, Any, BaseException | None]] = []
        tx: Tx | None
        try:
            async with self._writing() as conn:
                started = time.perf_counter()
                for job in self._take(jobs, started):
                    if job.future.cancelled():
                        continue
                    tx = Tx(conn)
                    try:
                        async with _unit_savepoint(conn):
                            result = await job.work(tx)
                        outcomes.append((job, tx, result, None))
                    except Exception as exc:  # one unit's failure must not sink the batch
                        outcomes.append((job, None, None, exc))
        except Exception as exc:
            log.exception("group commit failed")
            for job in jobs:
                if not job.future.done():
                    job.future.set_exception(exc)
            return
        self.batches += 1
        self.jobs += len(jobs)
        self._unchecked += len(jobs)
        if self._unchecked >= self.checkpoint_after:
            self._wal_grew.set()
        for job, tx, result, error in outcomes:
            if tx is not None:
                _run_hooks(tx.hooks)
            if job.future.done():
                continue
            if error is not None:
                job.future.set_exception(error)
            else:
                job.future.set_result(result)

    def _take(self, jobs: list[_Job], started: float) -> Iterator[_Job]:
        """The batch's units: those queued, taken one by one, until the limit or `batch_seconds` of work.

        On SQLite the units run inline, so the loop serves no other request meanwhile; ending a
        batch after a few milliseconds bounds how long the first unit waits for its commit.
        """
        i = 0
        while True:
            if i == len(jobs):
                if (len(jobs) >= self._batch_limit or self._queue.empty()
                        or time.perf_counter() - started > self.batch_seconds):
                    return
                jobs.append(self._queue.get_nowait())
            yield jobs[i]
            i += 1

    @contextlib.asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncConnection]:
        """The writer connection in a write transaction, committed when the block ends without error.

        The writer keeps its one connection from batch to batch: taking it from the pool and
        handing it back (with the pool's reset) cost some 0.3 ms a batch, a tenth of a small one.
        After a batch that failed as a whole (a refused BEGIN, a failed commit) the connection
        may be in doubt, so it is closed and the next batch opens another.
        """
        conn = self._writer_conn
        if conn is None:
            conn = self._writer_conn = await self.writer_engine.connect()
        try:
            async with _inline_transaction(conn, retry_locked=True):
                yield conn
        except BaseException:
            self._writer_conn = None
            await conn.close()
            raise

    async def checkpoint(self) -> tuple[int, int, int]:
        """A WAL checkpoint on a thread: (busy, frames in the WAL, frames checkpointed); past a size, a restart.

        PASSIVE copies what it can without waiting for readers or the writer, so it never
        holds anyone up. But the WAL starts again from its beginning only when a write begins
        with every frame copied, which never happens while writes keep coming: under steady
        load the log file grew without end (60,000 frames, 240 MB, in a minute of check-ins).
        So once the log passes `restart_after_frames` and the bulk is copied, the writer pauses
        between two batches while a RESTART copies the few frames written meanwhile and rewinds
        the log: a few milliseconds. A reader still on an old snapshot (a long export) makes it
        give up after RESTART_WAIT_S, so such a reader costs the writer at most that a checkpoint.
        """
        result = await asyncio.to_thread(self._checkpoint_now, "PASSIVE")
        self.checkpoints += 1
        if result[1] >= self.restart_after_frames:
            async with self._turn:
                busy, _, _ = await asyncio.to_thread(self._checkpoint_now, "RESTART")
            self.restarts += not busy
        return result

    def _checkpoint_now(self, mode: str) -> tuple[int, int, int]:
        with self._checkpoint_lock:
            if self._checkpoint_conn is None:
                path = make_url(self.url).database or ""
                self._checkpoint_conn = sqlite3.connect(path, timeout=RESTART_WAIT_S, isolation_level=None,
                                                        check_same_thread=False)
            busy, frames, done = self._checkpoint_conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
            return int(busy), int(frames), int(done)

    async def _checkpoint_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wal_grew.wait(), self.checkpoint_interval)
            self._wal_grew.clear()
            if not self._unchecked:
                continue
            self._unchecked = 0
            try:
                await self.checkpoint()
            except Exception:
                log.exception("WAL checkpoint failed; the next one will try again")


@contextlib.asynccontextmanager
async def _unit_savepoint(conn: AsyncConnection) -> AsyncIterator[None]:
    """One unit's savepoint, said to SQLite directly: SQLAlchemy's own pair costs ~100 µs, SQLite's ~2 µs.

    SQLAlchemy need not know of it: a unit's own nested transactions are closed by the time it
    ends, and the batch's transaction stays SQLAlchemy's to commit or roll back.
    """
    driver = driver_connection(conn)
    driver.execute("SAVEPOINT unit")
    try:
        yield
    except BaseException:
        driver.execute("ROLLBACK TO SAVEPOINT unit")
        driver.execute("RELEASE SAVEPOINT unit")
        raise
    driver.execute("RELEASE SAVEPOINT unit")


@contextlib.asynccontextmanager
async def _inline_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A pooled SQLite connection, handed back inline when the block ends.

    SQLAlchemy's own `async with engine.connect()` closes in a task of its own, so that a
    cancellation cannot abandon a close half-way; each close then costs a loop iteration and
    keeps the connection out of the pool meanwhile (under load the pool overflowed, and every
    overflow connection was opened and closed again). On SQLite a close runs inline and never
    yields, so no cancellation can interrupt it.
    """
    conn = await engine.connect()
    try:
        yield conn
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def _inline_transaction(conn: AsyncConnection, *, retry_locked: bool = False) -> AsyncIterator[None]:
    """A transaction on the sync connection under `conn`, begun and ended inline, committed unless the block raises.

    SQLAlchemy's async begin and commit each spawn a greenlet (~0.1 ms a transaction) where the
    in-loop driver has nothing to wait for. `retry_locked`: a BEGIN refused for another
    connection's lock is tried again from the loop (the writer's BEGIN IMMEDIATE does not wait).
    """
    sync = conn.sync_connection
    assert sync is not None

    async def begin() -> RootTransaction:
        return sync.begin()

    transaction = await (_retry_locked(begin) if retry_locked else begin())
    try:
        yield
    except BaseException:
        transaction.rollback()
        raise
    transaction.commit()


async def _retry_locked(start: Callable[[], Awaitable[Any]]) -> Any:
    """Runs `start` until it is not refused for a lock another connection holds, waiting on the loop."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WRITE_LOCK_WAIT_S
    delay = 0.001
    while True:
        try:
            return await start()
        except OperationalError as exc:
            if not isinstance(exc.orig, sqlite3.OperationalError) or "locked" not in str(exc.orig) \
                    or loop.time() > deadline:
                raise
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.05)


def _run_hooks(hooks: list[Hook]) -> None:
    for hook in hooks:
        try:
            hook()
        except Exception:
            log.exception("after-commit hook failed")
