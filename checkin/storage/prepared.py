"""Hot-path statements compiled once and, on SQLite, run on the driver connection itself.

SQLAlchemy's execution layer costs some 40–100 µs a statement (execution context, result
metadata, events), while SQLite answers an indexed statement from its page cache in about
2 µs; a QR check-in runs a dozen statements, so on SQLite that layer was most of its cost.
A `Prepared` statement is compiled once per dialect and set of parameter names, and runs
straight on the sqlite3 connection of the caller's transaction (which SQLAlchemy has already
begun), applying the column types' own bind and result processors, so values read and
written are exactly what `conn.execute` would give. On PostgreSQL it runs through
SQLAlchemy as usual: there the round trip to the server is the cost, not the layer.
"""

from __future__ import annotations

import sqlite3
from collections import namedtuple
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

Processor = Callable[[Any], Any] | None
R = TypeVar("R")


@dataclass(frozen=True)
class _Compiled:
    sql: str
    bind: Callable[[Mapping[str, Any]], list[Any]]  # the caller's parameters to the statement's values, in order
    row: Callable[[tuple[Any, ...]], Any] | None  # a raw row to a row with attributes, values processed


def _row_class(keys: list[str]) -> type:
    base = namedtuple("PreparedRow", keys)  # type: ignore[misc]

    class PreparedRow(base):
        """A row read by a prepared statement: attributes by column key, like SQLAlchemy's rows."""

        __slots__ = ()

        @property
        def _mapping(self) -> dict[str, Any]:
            return dict(zip(self._fields, self, strict=True))

    return PreparedRow


class Prepared:
    """One statement for the hot path; see the module's docstring for why."""

    def __init__(self, statement: sa.Executable | Callable[[str], sa.Executable], *, memo: int = 0) -> None:
        """`statement`, or a function of the dialect's name making it (an upsert is spelt per dialect).

        `memo`: on SQLite, keep up to this many rows already made, by their raw values, and give
        the same row again when the same values are read: for a row read by every request that
        rarely changes (a session with its programme's policy), whose JSON and times are then
        parsed once, not per read. Such rows are shared, so nobody may change what they hold.
        """
        self._make = statement if callable(statement) else (lambda _dialect: statement)
        self._by_dialect: dict[str, sa.Executable] = {}
        self._compiled: dict[tuple[str, ...], _Compiled] = {}
        self._memo_size = memo
        self._memo: dict[tuple[Any, ...], Any] = {}

    def statement(self, dialect: str) -> sa.Executable:
        found = self._by_dialect.get(dialect)
        if found is None:
            found = self._by_dialect[dialect] = self._make(dialect)
        return found

    async def rows(self, conn: AsyncConnection, params: Mapping[str, Any] | None = None) -> list[Any]:
        """Every row the statement returns."""
        params = params or {}
        if conn.dialect.name != "sqlite":
            return list((await conn.execute(self.statement(conn.dialect.name), dict(params))).all())
        compiled, cursor = self._run(conn, params)
        make = compiled.row
        if make is None:
            return []
        if not self._memo_size:
            return [make(raw) for raw in cursor.fetchall()]
        return [self._remembered(raw, make) for raw in cursor.fetchall()]

    def _remembered(self, raw: tuple[Any, ...], make: Callable[[tuple[Any, ...]], Any]) -> Any:
        row = self._memo.get(raw)
        if row is None:
            if len(self._memo) >= self._memo_size:
                self._memo.clear()  # simpler than LRU order, and the hot rows are back after one read each
            row = self._memo[raw] = make(raw)
        return row

    async def first(self, conn: AsyncConnection, params: Mapping[str, Any] | None = None) -> Any | None:
        found = await self.rows(conn, params)
        return found[0] if found else None

    async def scalar(self, conn: AsyncConnection, params: Mapping[str, Any] | None = None) -> Any:
        """The first column of the first row, or None."""
        row = await self.first(conn, params)
        return None if row is None else row[0]

    async def run(self, conn: AsyncConnection, params: Mapping[str, Any] | None = None) -> int:
        """Executes a statement that returns no rows; answers how many rows it changed."""
        params = params or {}
        if conn.dialect.name != "sqlite":
            return int((await conn.execute(self.statement(conn.dialect.name), dict(params))).rowcount)
        return int(self._run(conn, params)[1].rowcount)

    def _run(self, conn: AsyncConnection, params: Mapping[str, Any]) -> tuple[_Compiled, Any]:
        keys = tuple(params)
        compiled = self._compiled.get(keys)
        if compiled is None:
            compiled = self._compiled[keys] = _compile(self.statement("sqlite"), conn, keys)
        values = compiled.bind(params)
        try:
            return compiled, driver_connection(conn).execute(compiled.sql, values)
        except sqlite3.Error as exc:
            # raised as SQLAlchemy would (IntegrityError, OperationalError...), so callers catch one kind
            raise DBAPIError.instance(compiled.sql, values, exc, sqlite3.Error) from exc


class Derived(Generic[R]):
    """What `make` makes of a row, kept while it is the same row object (a memoised row is read again as itself).

    Keyed by identity and holding the row, so an id is never reused while its entry stands.
    """

    def __init__(self, make: Callable[[Any], R], size: int = 1024) -> None:
        self._make = make
        self._size = size
        self._by_id: dict[int, tuple[Any, R]] = {}

    def __call__(self, row: Any) -> R:
        found = self._by_id.get(id(row))
        if found is not None and found[0] is row:
            return found[1]
        if len(self._by_id) >= self._size:
            self._by_id.clear()
        value = self._make(row)
        self._by_id[id(row)] = (row, value)
        return value


def in_ids(column: Any, name: str, dialect: str) -> sa.ColumnElement[bool]:
    """`column` IN a list of integers bound as the one parameter `name`, so the statement's text never changes.

    An expanding IN renders its SQL anew for every length of list, which SQLite then prepares
    anew; one parameter keeps a prepared statement: JSON text unpacked by SQLite's json_each,
    an array compared with ANY on PostgreSQL.
    """
    if dialect == "postgresql":
        return column == sa.any_(sa.bindparam(name, type_=ARRAY(sa.Integer())))
    values = sa.select(sa.column("value", sa.Integer())).select_from(
        sa.func.json_each(sa.bindparam(name, type_=sa.JSON())))
    return column.in_(values.scalar_subquery())


def dialect_insert(dialect: str, table: sa.Table) -> Any:
    """The dialect's own INSERT for `table`, which can say ON CONFLICT (an upsert is spelt per dialect)."""
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(table)


def driver_connection(conn: AsyncConnection) -> Any:
    """The sqlite3 connection under `conn`, in whatever transaction SQLAlchemy has begun on it."""
    sync = conn.sync_connection
    assert sync is not None
    return sync.connection.driver_connection


def _compile(statement: Any, conn: AsyncConnection, keys: tuple[str, ...]) -> _Compiled:
    dialect = conn.dialect
    compiled: Any = statement.compile(dialect=dialect, column_keys=list(keys))
    if compiled.positiontup is None or dialect.paramstyle != "qmark":
        raise TypeError("prepared statements need a positional (qmark) dialect")
    names = tuple(compiled.positiontup)
    binds = compiled.binds
    if any(binds[name].expanding for name in names):
        raise TypeError("prepared statements take no expanding IN parameters")
    missing = [name for name in names if name not in keys and binds[name].required]
    if missing:
        raise KeyError(f"no value for the parameter {missing[0]!r}")
    # a name not given is a literal bound in the statement itself: its own value
    template = [None if name in keys else binds[name].effective_value for name in names]
    processors = [binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names]
    columns = list(getattr(statement, "exported_columns", None) or [])
    results = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns]
    row = _row_maker(_row_class([c.key for c in columns]), results) if columns else None
    return _Compiled(compiled.string, _binder(names, keys, template, processors), row)


def _binder(names: tuple[str, ...], keys: tuple[str, ...], template: list[Any], processors: list[Processor]
            ) -> Callable[[Mapping[str, Any]], list[Any]]:
    """The values in the statement's order, each through its bind processor (for parameters named `keys`)."""
    given = [(i, name) for i, name in enumerate(names) if name in keys]
    processed = [(i, p) for i, p in enumerate(processors) if p is not None]

    def bind(params: Mapping[str, Any]) -> list[Any]:
        values = template.copy()
        for i, name in given:
            values[i] = params[name]
        for i, process in processed:
            values[i] = process(values[i])
        return values

    return bind


def _row_maker(row_class: Any, results: list[Processor]) -> Callable[[tuple[Any, ...]], Any]:
    """Makes rows of `row_class` from raw rows, processing only the columns that have a processor."""
    make = row_class._make
    processed = [(i, p) for i, p in enumerate(results) if p is not None]
    if not processed:
        return make

    def made(raw: tuple[Any, ...]) -> Any:
        values = list(raw)
        for i, process in processed:
            values[i] = process(values[i])
        return make(values)

    return made
