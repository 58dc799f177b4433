"""Engines per backend: SQLite gets WAL, foreign keys, a busy timeout and explicit BEGINs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, *, writer: bool = False, pool_size: int = 10) -> AsyncEngine:
    """An async engine for `url`; on SQLite, `writer` takes the write lock at BEGIN.

    pysqlite's own transaction handling breaks SAVEPOINTs, so SQLite connections run in
    autocommit at the driver and SQLAlchemy emits BEGIN itself (the documented recipe).
    The writer uses BEGIN IMMEDIATE so it never has to upgrade a read lock mid-batch.
    """
    if not is_sqlite(url):
        return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
    engine = create_async_engine(url, connect_args={"timeout": 30}, pool_size=1 if writer else pool_size)
    begin = "BEGIN IMMEDIATE" if writer else "BEGIN"

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=30000", "synchronous=NORMAL"):
            cur.execute(f"PRAGMA {pragma}")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)

    return engine
