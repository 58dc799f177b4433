"""Words for alerts: local clock times, durations and the lateness clause."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from checkin.domain.rules.windows import local


def hhmm(moment: datetime, tz: ZoneInfo) -> str:
    return local(moment, tz).strftime("%H:%M")


def date_label(day: date) -> str:
    """E.g. "Sunday 29 March 2026"."""
    return f"{day:%A} {day.day} {day:%B %Y}"


def day_label(moment: datetime, tz: ZoneInfo) -> str:
    """The local calendar day of `moment`, as date_label writes it."""
    return date_label(local(moment, tz).date())


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def duration_words(seconds: int) -> str:
    """Whole hours and minutes, e.g. "1 hour 5 minutes"; under a minute reads as seconds."""
    if seconds < 60:
        return plural(seconds, "second")
    hours, minutes = divmod(seconds // 60, 60)
    if not hours:
        return plural(minutes, "minute")
    return plural(hours, "hour") + (f" {plural(minutes, 'minute')}" if minutes else "")


def late_clause(late_by_seconds: int, due_at: datetime, tz: ZoneInfo) -> str:
    """A sentence to append when a deadline fired late, or nothing when it fired on time."""
    if not late_by_seconds:
        return ""
    return f" This alert is {duration_words(late_by_seconds)} late: it was due at {hhmm(due_at, tz)}."


def names(items: list[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
