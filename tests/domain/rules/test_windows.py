"""Window arithmetic: real minutes in UTC, wall-clock times in the organisation's zone."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from checkin.domain.rules.windows import as_utc, end_of_local_day, local_date, minutes_after, wall_clock

from .builders import LONDON, london, utc


@pytest.mark.parametrize(("start", "minutes", "expected"), [
    (london(2026, 3, 29, 0, 30), 120, utc(2026, 3, 29, 2, 30)),  # 03:30 BST, not the wall clock's 02:30
    (london(2026, 10, 25, 0, 30), 120, utc(2026, 10, 25, 1, 30)),  # 01:30 GMT, the second showing
    (london(2026, 3, 29, 9, 0), -10, utc(2026, 3, 29, 7, 50)),
])
def test_minutes_after_counts_real_minutes_across_a_clock_change(start: datetime, minutes: int,
                                                                 expected: datetime) -> None:
    assert minutes_after(start, minutes) == expected


@pytest.mark.parametrize(("day", "at", "expected"), [
    (date(2026, 3, 29), time(9, 0), utc(2026, 3, 29, 8, 0)),
    (date(2026, 10, 25), time(9, 0), utc(2026, 10, 25, 9, 0)),
    (date(2026, 3, 29), time(1, 30), utc(2026, 3, 29, 1, 30)),  # never shown: read on the old offset (02:30 BST)
    (date(2026, 10, 25), time(1, 30), utc(2026, 10, 25, 0, 30)),  # shown twice: the first (BST) showing
])
def test_wall_clock_reads_a_local_time_on_a_local_day(day: date, at: time, expected: datetime) -> None:
    assert wall_clock(day, at, LONDON) == expected


@pytest.mark.parametrize(("day", "expected"), [
    (date(2026, 3, 29), utc(2026, 3, 29, 23, 0)),
    (date(2026, 10, 25), utc(2026, 10, 26, 0, 0)),
    (date(2026, 3, 28), utc(2026, 3, 29, 0, 0)),
])
def test_a_local_day_ends_at_local_midnight(day: date, expected: datetime) -> None:
    assert end_of_local_day(day, LONDON) == expected


def test_a_utc_instant_late_in_the_evening_falls_on_the_next_local_day_in_summer() -> None:
    assert local_date(utc(2026, 6, 16, 23, 30), LONDON) == date(2026, 6, 17)


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        as_utc(datetime(2026, 3, 10, 9, 0))
