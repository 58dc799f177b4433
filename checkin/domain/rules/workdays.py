"""Working days: Monday to Friday, less the organisation's configured bank holidays."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta


def is_working_day(day: date, bank_holidays: Collection[date] = ()) -> bool:
    return day.weekday() < 5 and day not in bank_holidays


def add_working_days(start: date, n: int, bank_holidays: Collection[date] = ()) -> date:
    """The n-th working day after `start` (`start` itself never counts); n = 0 returns `start`."""
    if n < 0:
        raise ValueError("n must not be negative")
    day = start
    remaining = n
    while remaining:
        day += timedelta(days=1)
        if is_working_day(day, bank_holidays):
            remaining -= 1
    return day
