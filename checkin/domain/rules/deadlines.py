"""Planning: the durable deadline rows a session (or a safeguarding alert) needs.

Every session-based rule plans one row per session with person_id None, and the rule
iterates the roster when it fires: a roster that changes after planning is then judged as
it stands at the deadline, and the cost is one row per rule per session, not per person.
Per-person rows appear only as follow-ups a rule schedules itself (F2F escalation stays
per session; REBOOK-121's overdue check and DSL-ACK are per person or per alert).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from checkin.domain.model import SessionInfo, SessionStatus
from checkin.domain.rules.catalogue import Anchor
from checkin.domain.rules.policy import Policy, RuleConfig
from checkin.domain.rules.windows import as_utc, local_date, minutes_after, parse_hhmm, wall_clock


@dataclass(frozen=True, slots=True)
class DeadlineSpec:
    """One deadline row: which rule, for whom (None = the whole session), when (UTC).

    `stage` counts steps of an escalating rule (0 = first firing); `alert_id` ties a DSL-ACK
    deadline to the alert it watches.
    """

    rule_id: str
    person_id: int | None
    due_at: datetime
    stage: int = 0
    alert_id: int | None = None


def due_at(rule: RuleConfig, session: SessionInfo, policy: Policy, tz: ZoneInfo) -> datetime:
    """When `rule` first fires for `session`, exact across clock changes."""
    anchor = rule.spec.anchor
    if anchor is Anchor.START:
        due = minutes_after(session.starts_at, rule.offset_minutes)
    elif anchor is Anchor.REGISTER_WINDOW:
        due = minutes_after(session.starts_at, policy.register_window_minutes + rule.offset_minutes)
    elif anchor is Anchor.END:
        due = minutes_after(session.ends_at, rule.offset_minutes)
    else:
        raise ValueError(f"{rule.id} is planned from an alert, not a session")
    if rule.id == "EMPLOYER-REMOTE":
        morning = wall_clock(local_date(session.starts_at, tz), parse_hhmm(rule.str_param("morning")), tz)
        due = max(due, morning)
    return due


def plan_deadlines(session: SessionInfo, roster_person_ids: Collection[int], policy: Policy, tz: ZoneInfo,
                   now: datetime) -> list[DeadlineSpec]:
    """The deadlines to write for a session, earliest first.

    A cancelled or force-majeure session plans nothing. A window that had already closed at
    `now` is left out: a session entered after the fact must not have people marked no-show
    or employers e-mailed about it retroactively.
    """
    if session.status is not SessionStatus.SCHEDULED:
        return []
    now = as_utc(now)
    expected = len(set(roster_person_ids))
    planned: list[DeadlineSpec] = []
    for rule in policy.rules:
        if rule.spec.anchor is Anchor.ALERT or not rule.applies_to(session):
            continue
        if rule.spec.per_person_roster and not expected:
            continue
        if rule.id == "EVENTS-CALL" and expected < policy.event_min_expected:
            continue
        due = due_at(rule, session, policy, tz)
        if due >= now:
            planned.append(DeadlineSpec(rule.id, None, due))
    return sorted(planned, key=lambda d: (d.due_at, d.rule_id))


def plan_ack_deadline(alert_created_at: datetime, policy: Policy) -> datetime | None:
    """When an unacknowledged safeguarding alert first escalates; None if DSL-ACK is off."""
    rule = policy.rule("DSL-ACK")
    if rule is None or not rule.enabled:
        return None
    return as_utc(alert_created_at) + timedelta(minutes=policy.ack_minutes + rule.offset_minutes)


def ack_deadline(alert_id: int, person_id: int | None, alert_created_at: datetime,
                 policy: Policy) -> DeadlineSpec | None:
    """The DSL-ACK deadline row to write beside a new safeguarding alert."""
    due = plan_ack_deadline(alert_created_at, policy)
    return None if due is None else DeadlineSpec("DSL-ACK", person_id, due, stage=1, alert_id=alert_id)
