"""Which sessions a calendar day lists: those held on it, not only those that start on it."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from checkin.storage.tables import sessions

LONGEST_LISTED = timedelta(days=31)


def held_between(start: datetime, end: datetime) -> sa.ColumnElement[bool]:
    """Sessions running at some time in [start, end): starting in it, or started before and still running.

    An evening session crossing midnight, or a residential, is then on each day's list while it runs,
    where the tutor marking it after midnight looks for it. The lower bound keeps the search on the
    (org, starts_at) index: a session longer than LONGEST_LISTED leaves the lists after that.
    """
    return sa.and_(sessions.c.starts_at < end, sessions.c.starts_at >= start - LONGEST_LISTED,
                   sa.or_(sessions.c.starts_at >= start, sessions.c.ends_at > start))
