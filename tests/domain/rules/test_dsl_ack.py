"""DSL-ACK: an unacknowledged safeguarding alert is re-sent and climbs the chain until acknowledged."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from checkin.domain.model import AlertState, SessionStatus
from checkin.domain.rules import (
    Action,
    AlertStatus,
    DeadlineSpec,
    EscalateAlert,
    ScheduleDeadline,
    ack_deadline,
    evaluate_deadline,
)
from checkin.domain.rules.dsl_ack import evaluate_dsl_ack

from .builders import context, one, pupil, rule_of, session, snapshot, utc

RAISED = utc(2026, 3, 10, 10, 0)
CHAIN = ("dsl_chain", "head_of_service", "chief_executive")
ALERT = AlertStatus(alert_id=9, state=AlertState.OPEN, created_at=RAISED,
                    title="Safeguarding: Ava Example not seen and not reached", rule_id="AP-DSL", person_id=1)


def first() -> DeadlineSpec:
    spec = ack_deadline(9, 1, RAISED, context().policy)
    assert spec is not None
    return spec


def fire(alert: AlertStatus = ALERT, deadline: DeadlineSpec | None = None, now: datetime | None = None,
         chain: tuple[str, ...] = CHAIN, status: SessionStatus = SessionStatus.SCHEDULED) -> list[Action]:
    deadline = deadline or first()
    c = context(alert=alert, safeguarding_chain=chain)
    snap = snapshot(session(status=status), (pupil(),))
    return evaluate_dsl_ack(rule_of(c.policy, "DSL-ACK"), snap, deadline, now or deadline.due_at, c)


def test_an_unacknowledged_alert_is_resent_and_escalated_one_step_up_the_chain() -> None:
    actions = fire()
    step = one(actions, EscalateAlert)
    assert (step.alert_id, step.level, step.recipients) == (9, 1, ("dsl_chain", "head_of_service"))
    assert step.why == ('The safeguarding alert "Safeguarding: Ava Example not seen and not reached" raised at 10:00 '
                        "has not been acknowledged after 15 minutes. It has been sent again to dsl_chain and "
                        "escalated to head_of_service.")
    assert one(actions, ScheduleDeadline) == ScheduleDeadline("DSL-ACK", 1, utc(2026, 3, 10, 10, 30), stage=2,
                                                              alert_id=9)


@pytest.mark.parametrize("state", [AlertState.ACKNOWLEDGED, AlertState.CLOSED])
def test_an_acknowledged_or_closed_alert_stops_the_escalation(state: AlertState) -> None:
    assert fire(replace(ALERT, state=state, acknowledged_at=RAISED + timedelta(minutes=14))) == []


def test_it_repeats_up_the_chain_until_acknowledged_and_then_stops() -> None:
    alert, deadline = ALERT, first()
    levels = []
    for _ in range(5):
        actions = fire(alert, deadline)
        step, next_check = one(actions, EscalateAlert), one(actions, ScheduleDeadline)
        levels.append((step.level, step.recipients[-1], step.facts["chain_exhausted"]))
        alert = replace(alert, escalation_level=step.level)
        deadline = DeadlineSpec(next_check.rule_id, next_check.person_id, next_check.due_at, next_check.stage,
                                next_check.alert_id)
    assert levels == [(1, "head_of_service", False), (2, "chief_executive", False),
                      (3, "chief_executive", True), (4, "chief_executive", True), (5, "chief_executive", True)]
    assert deadline.due_at == RAISED + timedelta(minutes=15 * 6)
    assert fire(replace(alert, state=AlertState.ACKNOWLEDGED), deadline) == []


def test_once_the_chain_is_exhausted_the_alert_says_it_keeps_being_resent() -> None:
    step = one(fire(replace(ALERT, escalation_level=2)), EscalateAlert)
    assert step.recipients == CHAIN
    assert "there is no one further in the safeguarding chain" in step.why


def test_without_a_configured_chain_the_rules_recipients_are_used() -> None:
    step = one(fire(chain=()), EscalateAlert)
    assert (step.recipients, step.facts["chain_exhausted"]) == (("dsl_chain",), True)


def test_a_safeguarding_alert_outlives_a_cancelled_session() -> None:
    assert one(fire(status=SessionStatus.CANCELLED), EscalateAlert).level == 1


def test_a_late_check_schedules_the_next_one_a_full_interval_from_now() -> None:
    now = first().due_at + timedelta(minutes=40)
    actions = fire(now=now)
    step = one(actions, EscalateAlert)
    assert step.late_by_seconds == 2400
    assert step.why.endswith("This alert is 40 minutes late: it was due at 10:15.")
    assert one(actions, ScheduleDeadline).due_at == now + timedelta(minutes=15)


def test_the_deadline_must_name_the_alert_in_the_context() -> None:
    with pytest.raises(ValueError, match=r"context\.alert"):
        fire(replace(ALERT, alert_id=10))


def test_the_dispatcher_routes_an_acknowledgement_deadline_here() -> None:
    c = context(alert=ALERT, safeguarding_chain=CHAIN)
    actions = evaluate_deadline(snapshot(session(), (pupil(),)), first(), first().due_at, c)
    assert one(actions, EscalateAlert).level == 1
