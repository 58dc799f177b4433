"""UtcDateTime: aware in, aware UTC out, stored on SQLite as SQLAlchemy's own DATETIME text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from checkin.storage.types import UtcDateTime

DIALECT = sqlite.dialect()
BIND = UtcDateTime().dialect_impl(DIALECT).bind_processor(DIALECT)
RESULT = UtcDateTime().dialect_impl(DIALECT).result_processor(DIALECT, None)
PLAIN_BIND = sa.DateTime().dialect_impl(DIALECT).bind_processor(DIALECT)


@pytest.mark.parametrize("moment", [
    datetime(2026, 11, 22, 9, 0, tzinfo=UTC),
    datetime(2026, 3, 29, 1, 30, 0, 123, tzinfo=timezone(timedelta(hours=1))),
    datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
])
def test_a_utc_datetime_is_stored_as_the_text_sqlalchemy_s_sqlite_datetime_stores(moment: datetime) -> None:
    assert BIND(moment) == PLAIN_BIND(moment.astimezone(UTC).replace(tzinfo=None))


def test_a_stored_datetime_reads_back_as_the_same_instant_in_utc() -> None:
    moment = datetime(2026, 11, 22, 10, 15, 30, 250, tzinfo=timezone(timedelta(hours=-5)))
    back = RESULT(BIND(moment))
    assert (back, back.tzinfo) == (moment, UTC)


def test_text_without_microseconds_reads_as_a_utc_datetime() -> None:
    assert RESULT("2026-11-22 10:00:00") == datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError):
        BIND(datetime(2026, 11, 22, 10, 0))


def test_none_stays_none_both_ways() -> None:
    assert (BIND(None), RESULT(None)) == (None, None)
