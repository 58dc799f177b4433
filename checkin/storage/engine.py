"""Engines per backend: SQLite gets WAL, foreign keys, a busy timeout and explicit BEGINs."""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import event, pool
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.util.concurrency import await_, in_greenlet

from checkin.storage.json_text import dumps as json_text_dumps
from checkin.storage.json_text import loads as json_text_loads

# How long a reader waits on a lock (only ever briefly, in WAL mode); the writer never waits
# inside SQLite but retries its BEGIN from the event loop (Database), so the loop never blocks.
READER_BUSY_TIMEOUT_S = 30


async def _ready() -> None:
    """Completes at once: awaiting it switches greenlets without ever yielding to the event loop."""


class _InLoopCursor(sqlite3.Cursor):
    # SQLAlchemy's asyncio layer insists that an execute awaited something (AwaitRequired).
    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:  # type: ignore[override]
        if in_greenlet():
            await_(_ready())
        return super().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:  # type: ignore[override]
        if in_greenlet():
            await_(_ready())
        return super().executemany(sql, parameters)

    async def _async_soft_close(self) -> None:
        """Rows stay on the cursor and are fetched inline when read (nothing to prefetch)."""


class _InLoopConnection(sqlite3.Connection):
    def cursor(self, factory: Any = _InLoopCursor) -> sqlite3.Cursor:  # type: ignore[override]
        return super().cursor(factory)


class InLoopSQLiteDialect(SQLiteDialect_pysqlite):
    """SQLite called straight from the event loop, with no thread between them.

    A statement on SQLite runs in microseconds from the page cache, while aiosqlite hands each
    cursor, execute, fetch and close to its thread and back: on the check-in path those
    hand-offs, not SQLite, were most of the time (and, on a busy machine, every one waits to be
    scheduled). So statements run inline. Nothing in them waits: readers never wait in WAL mode,
    the writer takes its lock with a zero busy timeout and retries asynchronously, and WAL
    checkpoints (the fsyncs) run on a thread of their own (Database).
    """

    driver = "checkin_inloop"
    is_async = True
    supports_statement_cache = True

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        return pool.AsyncAdaptedQueuePool if cls._is_url_file_db(url) else pool.StaticPool


registry.register("sqlite.checkin_inloop", __name__, "InLoopSQLiteDialect")


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, *, writer: bool = False, pool_size: int = 10) -> AsyncEngine:
    """An async engine for `url`; on SQLite, `writer` takes the write lock at BEGIN.

    pysqlite's own transaction handling breaks SAVEPOINTs, so SQLite connections run in
    autocommit at the driver and SQLAlchemy emits BEGIN itself (the documented recipe).
    The writer uses BEGIN IMMEDIATE so it never has to upgrade a read lock mid-batch, and
    checkpoints only when Database asks (wal_autocheckpoint=0), never inside a commit.
    """
    json_text = {"json_serializer": json_text_dumps, "json_deserializer": json_text_loads}
    if not is_sqlite(url):
        return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, **json_text)
    inline = make_url(url).set(drivername="sqlite+checkin_inloop")
    engine = create_async_engine(inline, connect_args={"timeout": READER_BUSY_TIMEOUT_S, "check_same_thread": False,
                                                             "factory": _InLoopConnection},
                                 pool_size=1 if writer else pool_size, **json_text)
    begin = "BEGIN IMMEDIATE" if writer else "BEGIN"
    # journal_mode may wait for a lock once, at connect; only then does the writer stop waiting.
    busy_ms = 0 if writer else READER_BUSY_TIMEOUT_S * 1000
    # The one writer gets a 32 MB page cache (SQLite's default is 2 MB): the indexes every
    # check-in's inserts touch then stay in memory instead of being read again from the OS.
    # Readers, up to a pool of them, keep the default, so memory stays bounded.
    cache_kib = 32768 if writer else 2000
    # Each unit of a group commit is a savepoint, whose journal of the pages it changes spills
    # from memory to a temporary file past 64 KB: a check-in's unit passes that, and writing
    # the file cost more than its statements did. The writer keeps it in memory (it holds one
    # unit's pages at a time, released with the unit).
    temp_store = ("temp_store=MEMORY",) if writer else ()
    pragmas = ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL", "wal_autocheckpoint=0",
               f"busy_timeout={busy_ms}", f"cache_size=-{cache_kib}", *temp_store)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        for pragma in pragmas:
            cur.execute(f"PRAGMA {pragma}")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Straight to the driver: through exec_driver_sql the BEGIN cost ~0.15 ms, on every
        # read and every batch. A refusal is raised as SQLAlchemy raises it, so callers catch one kind.
        try:
            conn.connection.driver_connection.execute(begin)
        except sqlite3.Error as exc:
            raise DBAPIError.instance(begin, (), exc, sqlite3.Error) from exc

    return engine
