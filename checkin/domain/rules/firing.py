"""Whether a deadline may fire now, and how late it is."""

from __future__ import annotations

from datetime import datetime

from checkin.domain.model import SessionSnapshot, SessionStatus
from checkin.domain.rules.deadlines import DeadlineSpec
from checkin.domain.rules.policy import RuleConfig
from checkin.domain.rules.windows import as_utc

LATE_AFTER_SECONDS = 60


class NotDueError(ValueError):
    """A deadline was handed to its rule before its due time: a watcher bug, never a quiet no-op."""


def check_due(deadline: DeadlineSpec, now: datetime) -> None:
    if as_utc(now) < as_utc(deadline.due_at):
        raise NotDueError(f"{deadline.rule_id} is due at {deadline.due_at.isoformat()}, not {now.isoformat()}")


def late_by_seconds(deadline: DeadlineSpec, now: datetime) -> int:
    """Seconds past due when that is over a minute (the watcher's normal jitter), else 0."""
    seconds = int((as_utc(now) - as_utc(deadline.due_at)).total_seconds())
    return seconds if seconds > LATE_AFTER_SECONDS else 0


def session_rule_fires(rule: RuleConfig, snapshot: SessionSnapshot, deadline: DeadlineSpec,
                       now: datetime) -> bool:
    """The common guard of session rules: right rule, due, enabled, in scope, session still on."""
    if deadline.rule_id != rule.id:
        raise ValueError(f"a {deadline.rule_id} deadline was routed to {rule.id}")
    check_due(deadline, now)
    return snapshot.session.status is SessionStatus.SCHEDULED and rule.applies_to(snapshot.session)
