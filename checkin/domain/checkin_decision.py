"""What a self check-in or check-out scan does, and the plain words the participant sees."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo
from typing import Any, Literal

from checkin.domain.model import Mark, MarkStatus, SessionInfo, SessionStatus, StrEnum
from checkin.domain.tokens import TokenCode, TokenRejection

PRESENCE = frozenset({MarkStatus.PRESENT, MarkStatus.LATE, MarkStatus.LEFT_EARLY})


class Outcome(StrEnum):
    CHECKED_IN = "checked_in"
    LATE = "late"
    ALREADY_CHECKED_IN = "already_checked_in"
    NOT_ON_ROSTER = "not_on_roster"
    CHECKIN_NOT_OPEN = "checkin_not_open"
    CHECKIN_CLOSED = "checkin_closed"
    SESSION_CANCELLED = "session_cancelled"
    CHECKED_OUT = "checked_out"
    ALREADY_CHECKED_OUT = "already_checked_out"
    NOT_CHECKED_IN = "not_checked_in"


@dataclass(frozen=True, slots=True)
class Decision:
    """The result of one scan; `mark_status` is the mark to record, None when nothing is recorded."""

    outcome: Outcome
    session_id: int
    person_id: int
    at: datetime
    mark_status: MarkStatus | None = None
    minutes_late: int = 0
    first_at: datetime | None = None
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    departed_at: datetime | None = None
    left_early: bool = False
    minutes_early: int = 0
    share_missed: float = 0.0

    @property
    def recorded(self) -> bool:
        return self.mark_status is not None


def decide_checkin(
    now: datetime,
    session: SessionInfo,
    roster_ids: frozenset[int],
    person_id: int,
    existing: Mark | None,
    grace_minutes: int = 0,
    opens_minutes_before: int = 60,
    closes_minutes_after_end: int = 0,
    direction: Literal["in", "out"] = "in",
) -> Decision:
    """Decide a check-in or check-out scan by `person_id` at `now`.

    Lateness is counted in whole minutes, as a clock shows them: 09:07:40 for a 09:00 start
    is 7 minutes late, and with a 5-minute grace 09:05:59 is still on time. Minutes late are
    counted from the start, not from the end of the grace. A repeated scan is answered with
    the first one's time before the window is checked, so it stays idempotent after closing.
    A check-in over an absence mark (for instance a watcher's no-contact) records the arrival.
    """
    def decided(outcome: Outcome, **facts: Any) -> Decision:
        return Decision(outcome, session.id, person_id, now, **facts)

    if session.status == SessionStatus.CANCELLED:
        return decided(Outcome.SESSION_CANCELLED)
    if person_id not in roster_ids:
        return decided(Outcome.NOT_ON_ROSTER)
    present = existing is not None and existing.status in PRESENCE
    if direction == "in" and existing is not None and present:
        first = existing.arrived_at or existing.recorded_at
        return decided(Outcome.ALREADY_CHECKED_IN, first_at=first)
    if direction == "out" and existing is not None and existing.departed_at is not None:
        return decided(Outcome.ALREADY_CHECKED_OUT, first_at=existing.departed_at)
    opens_at = session.starts_at - timedelta(minutes=opens_minutes_before)
    closes_at = session.ends_at + timedelta(minutes=closes_minutes_after_end)
    if now < opens_at:
        return decided(Outcome.CHECKIN_NOT_OPEN, opens_at=opens_at)
    if now > closes_at:
        return decided(Outcome.CHECKIN_CLOSED, closes_at=closes_at)
    if direction == "out":
        if existing is None or not present:
            return decided(Outcome.NOT_CHECKED_IN)
        return _check_out(decided(Outcome.CHECKED_OUT), session, existing)
    late_by = math.floor((now - session.starts_at) / timedelta(minutes=1))
    if late_by > grace_minutes:
        return decided(Outcome.LATE, mark_status=MarkStatus.LATE, minutes_late=late_by)
    return decided(Outcome.CHECKED_IN, mark_status=MarkStatus.PRESENT)


def _check_out(base: Decision, session: SessionInfo, existing: Mark) -> Decision:
    """A departure; the share missed counts the late arrival too, as both lose content."""
    now = base.at
    early = max(0, math.ceil((session.ends_at - now) / timedelta(minutes=1)))
    length = (session.ends_at - session.starts_at) / timedelta(minutes=1)
    missed = min(1.0, (early + existing.minutes_late) / length) if length > 0 else 0.0
    return replace(
        base,
        outcome=Outcome.CHECKED_OUT,
        mark_status=MarkStatus.LEFT_EARLY if early else existing.status,
        minutes_late=existing.minutes_late,
        departed_at=now,
        left_early=early > 0,
        minutes_early=early,
        share_missed=missed,
    )


_TOKEN_WORDS = {
    TokenCode.EXPIRED: "This code has expired — scan the screen again",
    TokenCode.NOT_YET_VALID: "This code is not valid yet — scan the screen again",
    TokenCode.MALFORMED: "This code is not recognised — scan the screen again",
    TokenCode.FORGED: "This code is not recognised — scan the screen again",
    TokenCode.WRONG_SESSION: "This code is for a different session — scan the code in your room",
    TokenCode.WRONG_DAY: "This code is for a different day — scan today's code",
    TokenCode.BADGE_INVALID: "This badge code is not recognised — check it and try again",
}


def message(decision: Decision | TokenRejection, tz: tzinfo) -> str:
    """The plain words for a scan's result, with times in the organisation's zone.

    A refusal names nobody and says the same whoever scanned, so nothing is learnt about the roster.
    """
    if isinstance(decision, TokenRejection):
        return _TOKEN_WORDS[decision.code]
    d = decision
    match d.outcome:
        case Outcome.CHECKED_IN:
            return f"Checked in at {_clock(d.at, tz)}"
        case Outcome.LATE:
            return f"Late by {_minutes(d.minutes_late)} — checked in at {_clock(d.at, tz)}"
        case Outcome.ALREADY_CHECKED_IN:
            return f"Already checked in at {_clock(d.first_at or d.at, tz)}"
        case Outcome.NOT_ON_ROSTER:
            return "You are not on the list for this session — please see the team"
        case Outcome.CHECKIN_NOT_OPEN:
            return f"Check-in opens at {_clock(d.opens_at or d.at, tz)}"
        case Outcome.CHECKIN_CLOSED:
            return "Check-in for this session has closed — please see the team"
        case Outcome.SESSION_CANCELLED:
            return "This session has been cancelled"
        case Outcome.CHECKED_OUT if d.left_early:
            return f"Checked out at {_clock(d.at, tz)}, {_minutes(d.minutes_early)} before the end"
        case Outcome.CHECKED_OUT:
            return f"Checked out at {_clock(d.at, tz)}"
        case Outcome.ALREADY_CHECKED_OUT:
            return f"Already checked out at {_clock(d.first_at or d.at, tz)}"
        case Outcome.NOT_CHECKED_IN:
            return "You have not checked in to this session, so you cannot check out — please see the team"
    raise ValueError(f"no words for {d.outcome}")


def _clock(moment: datetime, tz: tzinfo) -> str:
    local = moment.astimezone(tz)
    return f"{local.hour:02d}:{local.minute:02d}"


def _minutes(n: int) -> str:
    return f"{n} minute" if n == 1 else f"{n} minutes"
