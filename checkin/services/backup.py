"""Consistent backups of the SQLite database while the app runs, and restoring one.

A backup uses SQLite's online backup API on a connection of its own, copying every page in
one step: the copy is the database as of one committed transaction (WAL readers never block
the app's writer, nor it them). While the app runs it holds a shared lock on
`<database>.lock`; restore takes that lock exclusively, so it refuses while any app process
has the database open, unless forced. A forced restore still goes through SQLite's own
locking, page by page into the live file, so a running app sees either the old database or
the restored one, never a mixture; but its in-memory state (live sequence numbers, rate
limits) no longer matches, so restart it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from checkin.context import AppContext


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why and what to do."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    bytes: int
    revision: str
    tables: int


def sqlite_path(database_url: str) -> Path:
    """The database file of a SQLite URL; other backends have their own tools (pg_dump)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise BackupError("not_sqlite", "Backups here are for the SQLite database; on PostgreSQL use pg_dump and "
                          "pg_restore.")
    if not url.database or url.database == ":memory:":
        raise BackupError("no_file", "This SQLite database has no file to back up.")
    return Path(url.database).resolve()


def lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


@contextlib.contextmanager
def _lock(db_path: Path, mode: int) -> Iterator[bool]:
    """Takes the database's lock file in `mode` without waiting; yields whether it was had."""
    fd = os.open(lock_path(db_path), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextlib.asynccontextmanager
async def hold_running_lock(ctx: AppContext) -> AsyncIterator[None]:
    """Marks the database as in use for the app's lifetime (restore checks this)."""
    try:
        db_path = sqlite_path(ctx.settings.database_url)
    except BackupError:
        yield
        return
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with _lock(db_path, fcntl.LOCK_SH):
        yield


def app_running(db_path: Path) -> bool:
    """Whether an app process holds the database (its shared lock) now."""
    with _lock(db_path, fcntl.LOCK_EX) as had:
        return not had


def _check(path: Path) -> tuple[str, int]:
    """The alembic revision and table count of a database file; BackupError when it is not sound."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        ok = conn.execute("PRAGMA integrity_check").fetchone()
        if not ok or ok[0] != "ok":
            raise BackupError("corrupt", f"{path} fails SQLite's integrity check: {ok[0] if ok else 'no answer'}")
        tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
        try:
            revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.DatabaseError as exc:
            raise BackupError("not_checkin", f"{path} is not a checkin database.") from exc
        return (revision[0] if revision else ""), int(tables)
    except sqlite3.DatabaseError as exc:
        raise BackupError("corrupt", f"{path} is not a readable SQLite database ({exc}).") from exc
    finally:
        conn.close()


def _copy(source: sqlite3.Connection, target: sqlite3.Connection) -> None:
    source.backup(target, pages=-1)  # one step: a single consistent snapshot


def backup(database_url: str, destination: Path) -> BackupInfo:
    """Writes a consistent copy of the live database to `destination` (replaced atomically)."""
    db_path = sqlite_path(database_url)
    if not db_path.exists():
        raise BackupError("no_database", f"There is no database at {db_path}.")
    destination = destination.resolve()
    if destination == db_path:
        raise BackupError("same_file", "Back up to another file than the database itself.")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(db_path, timeout=30)
    try:
        source.execute("PRAGMA busy_timeout = 30000")
        target = sqlite3.connect(partial)
        try:
            _copy(source, target)
            target.execute("PRAGMA journal_mode = DELETE")  # a single self-contained file
        finally:
            target.close()
    finally:
        source.close()
    revision, tables = _check(partial)
    os.replace(partial, destination)
    return BackupInfo(destination, destination.stat().st_size, revision, tables)


def restore(database_url: str, source_path: Path, *, force: bool = False) -> BackupInfo:
    """Replaces the database's content with the backup at `source_path`.

    Refuses (code "app_running") while an app process uses the database, unless `force`.
    """
    db_path = sqlite_path(database_url)
    source_path = source_path.resolve()
    if not source_path.is_file():
        raise BackupError("no_backup", f"There is no backup file at {source_path}.")
    revision, tables = _check(source_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with _lock(db_path, fcntl.LOCK_EX) as had:
        if not had and not force:
            raise BackupError("app_running", "The app is running on this database; stop it first (or use --force "
                              "and restart it straight after).")
        source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
        try:
            target = sqlite3.connect(db_path, timeout=30)
            try:
                target.execute("PRAGMA busy_timeout = 30000")
                _copy(source, target)
                target.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                target.close()
        finally:
            source.close()
    return BackupInfo(db_path, db_path.stat().st_size, revision, tables)


def describe(info: BackupInfo) -> dict[str, Any]:
    return {"path": str(info.path), "bytes": info.bytes, "revision": info.revision, "tables": info.tables}
