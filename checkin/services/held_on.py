"""Which sessions a calendar day lists: those held on it, not only those that start on it."""

from __future__ import annotations

from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from checkin.domain.rules.windows import end_of_local_day, wall_clock
from checkin.storage.tables import sessions

LONGEST_LISTED = timedelta(days=31)


def held_on(day: date, tz: ZoneInfo) -> sa.ColumnElement[bool]:
    """Sessions running at some time on `day` in `tz`: starting on it, or started before and still running.

    An evening session crossing midnight, or a residential, is then on each day's list while it runs,
    where the tutor marking it after midnight looks for it. The lower bound keeps the search on the
    (org, starts_at) index: a session longer than LONGEST_LISTED leaves the lists after that.
    """
    start, end = wall_clock(day, time(0), tz), end_of_local_day(day, tz)
    return sa.and_(sessions.c.starts_at < end, sessions.c.starts_at >= start - LONGEST_LISTED,
                   sa.or_(sessions.c.starts_at >= start, sessions.c.ends_at > start))
