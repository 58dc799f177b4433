"""Time for windows: elapsed minutes are added in UTC, wall-clock times are read in the organisation's zone.

Adding a timedelta to an aware datetime in a ZoneInfo zone moves the wall clock, not the
real clock, so "start + 15 min" across a clock change must be done in UTC; "09:00 on the
day" is the opposite case and must be built in the local zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def as_utc(moment: datetime) -> datetime:
    """The same instant in UTC; a naive datetime is refused because its zone is unknowable."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment!r} has no time zone; store and pass aware datetimes")
    return moment.astimezone(UTC)


def minutes_after(moment: datetime, minutes: int) -> datetime:
    """The instant `minutes` of real time after `moment` (negative = before), in UTC."""
    return as_utc(moment) + timedelta(minutes=minutes)


def local(moment: datetime, tz: ZoneInfo) -> datetime:
    return as_utc(moment).astimezone(tz)


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    """The calendar day `moment` falls on in the organisation's zone."""
    return local(moment, tz).date()


def wall_clock(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant when clocks in `tz` show `at` on `day`.

    In the spring gap (01:00-02:00 in London) a time that never shows is read with the
    offset in force before the change, i.e. an hour later on the new clock; in the autumn
    overlap the first (summer-time) showing is taken.
    """
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def end_of_local_day(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant of local midnight at the end of `day` (23 or 25 hours long on change days)."""
    return wall_clock(day + timedelta(days=1), time(0, 0), tz)


def parse_hhmm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))
