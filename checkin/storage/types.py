"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """Stores aware datetimes as naive UTC; always returns aware UTC.

    SQLite keeps no zone and PostgreSQL's timestamptz converts on read; storing naive UTC
    in a plain timestamp column gives both backends identical values and sort order.
    """

    impl = sa.DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)

    # On SQLite one function each way instead of this type's step chained to DATETIME's, which
    # formats through a dict: every mark writes and every standing reads a dozen of these.
    def bind_processor(self, dialect: Any) -> Any:
        return _to_sqlite if dialect.name == "sqlite" else super().bind_processor(dialect)

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        return _from_sqlite if dialect.name == "sqlite" else super().result_processor(dialect, coltype)


# The last time formatted and its text: a write binds the same `now` a dozen times over.
_last: tuple[datetime | None, str] = (None, "")


def _to_sqlite(value: datetime | None) -> str | None:
    """The text SQLAlchemy's SQLite DATETIME stores (microseconds always shown), so old and new rows sort alike."""
    global _last
    if value is None:
        return None
    last = _last  # one read of the pair: another thread may replace it meanwhile
    if value is last[0]:
        return last[1]
    if not isinstance(value, datetime):
        raise TypeError("a UTC column takes datetime objects")
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    text = (value if value.tzinfo is UTC else value.astimezone(UTC)).replace(tzinfo=None).isoformat(" ", "microseconds")
    _last = (value, text)
    return text


def _from_sqlite(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)
