"""The one storage entry point: reads on their own connections, writes as units of work.

Services hand `Database.write` a function of a `Tx`; it runs inside a transaction and its
after-commit hooks (live publishes, wake-ups) run only once the commit is durable. On SQLite
one writer task batches many units into one transaction, each in its own savepoint, so one
failure does not sink the others (group commit). On PostgreSQL each unit is its own
transaction on a pooled connection, so several instances can share the work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.storage.engine import create_engine, is_sqlite
from checkin.storage.migrate import upgrade

T = TypeVar("T")
log = logging.getLogger(__name__)
Hook = Callable[[], Any]


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

    def __init__(self, url: str, *, batch_limit: int = 256, pool_size: int = 10) -> None:
        self.url = url
        self.sqlite = is_sqlite(url)
        self.reader = create_engine(url, pool_size=pool_size)
        self.writer_engine = create_engine(url, writer=True, pool_size=pool_size) if self.sqlite else self.reader
        self._batch_limit = batch_limit
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0
        self.jobs = 0

    async def start(self, migrate: bool = True) -> None:
        if migrate:
            await upgrade(self.writer_engine)
        if self.sqlite:
            self._writer = asyncio.create_task(self._write_loop(), name="checkin-writer")

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None
        await self.reader.dispose()
        if self.writer_engine is not self.reader:
            await self.writer_engine.dispose()

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a read transaction (one consistent snapshot)."""
        async with self.reader.connect() as conn, conn.begin():
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
            jobs = [await self._queue.get()]
            while len(jobs) < self._batch_limit and not self._queue.empty():
                jobs.append(self._queue.get_nowait())
            await self._run_batch(jobs)

    async def _run_batch(self, jobs: list[_Job]) -> None:
        outcomes: list[tuple[_Job, Tx | None, Any, BaseException | None]] = []
        tx: Tx | None
        try:
            async with self.writer_engine.connect() as conn, conn.begin():
                for job in jobs:
                    if job.future.cancelled():
                        continue
                    tx = Tx(conn)
                    try:
                        async with conn.begin_nested():
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
        for job, tx, result, error in outcomes:
            if tx is not None:
                _run_hooks(tx.hooks)
            if job.future.done():
                continue
            if error is not None:
                job.future.set_exception(error)
            else:
                job.future.set_result(result)


def _run_hooks(hooks: list[Hook]) -> None:
    for hook in hooks:
        try:
            hook()
        except Exception:
            log.exception("after-commit hook failed")
