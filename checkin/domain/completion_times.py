"""Late arrival and early departure as numbers: minutes late, share of content missed."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

DEFAULT_CATCH_UP_THRESHOLD = 0.25
_MINUTE = timedelta(minutes=1)


def minutes_late(start: datetime, arrived_at: datetime, grace_minutes: int = 0) -> int:
    """Whole minutes after the start, or 0 within the grace.

    Minutes are counted as a clock shows them, the same as a check-in scan: 09:07:40 for a
    09:00 start is 7 minutes late, and with a 5-minute grace 09:05:59 is on time. Lateness is
    measured from the start, not from the end of the grace.
    """
    late_by = math.floor((arrived_at - start) / _MINUTE)
    return late_by if late_by > grace_minutes else 0


def share_missed(session_start: datetime, session_end: datetime, departed_at: datetime,
                 arrived_at: datetime | None = None) -> float:
    """The share (0..1) of the session not attended; a late arrival, when given, is missed too."""
    length = session_end - session_start
    if length <= timedelta(0):
        raise ValueError("a session must end after it starts")
    begin = max(session_start, arrived_at or session_start)
    end = min(session_end, departed_at)
    attended = max(timedelta(0), end - begin)
    return 1.0 - attended / length


def catch_up_required(share: float, threshold: float = DEFAULT_CATCH_UP_THRESHOLD) -> bool:
    """Whether missing `share` of a session's content calls for a catch-up (above the threshold)."""
    return share > threshold
