"""AP-DSL at start + 60: a no-show nobody has reached goes to the DSL chain with the whole timeline."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from checkin.domain.model import AlertSeverity, FollowUp, FollowUpOutcome, Mark, MarkSource, MarkStatus, Notice
from checkin.domain.rules import Action, RaiseAlert, TimelineEntry
from checkin.domain.rules.ap_dsl import evaluate_ap_dsl

from .builders import (
    START,
    context,
    emergency,
    first_deadline,
    follow_up,
    mark,
    notice,
    one,
    pupil,
    rule_of,
    session,
    snapshot,
    utc,
)

AVA = pupil()
DUE = utc(2026, 3, 10, 10, 0)
NO_SHOW = mark(1, MarkStatus.NO_CONTACT, utc(2026, 3, 10, 9, 15), code="N", source=MarkSource.WATCHER)


def fire(*, marks: tuple[Mark, ...] = (NO_SHOW,), notices: tuple[Notice, ...] = (),
         follow_ups: tuple[FollowUp, ...] = (), on_roll: bool = True, now: datetime = DUE,
         **ctx: Any) -> list[Action]:
    info = session()
    c = context(**ctx)
    snap = snapshot(info, (pupil(on_school_roll=on_roll),), marks, notices, follow_ups, (emergency(),))
    return evaluate_ap_dsl(rule_of(c.policy, "AP-DSL"), snap, first_deadline(c.policy, "AP-DSL", info), now, c)


def test_a_no_show_with_no_follow_up_raises_a_safeguarding_alert_to_the_dsl_chain() -> None:
    alert = one(fire(), RaiseAlert)
    assert (alert.rule_id, alert.kind, alert.severity, alert.recipients) == (
        "AP-DSL", "safeguarding", AlertSeverity.SAFEGUARDING, ("dsl_chain",))
    assert alert.why == ("Ava Example has not attended the 09:00 session and nobody had been reached by 10:00, "
                         "1 hour after it began. No follow-up has been logged.")
    assert alert.facts["emergency_contacts"][0]["phone"] == "07700 900101"


def test_a_follow_up_reached_at_minute_50_stops_it() -> None:
    assert fire(follow_ups=(follow_up(1, FollowUpOutcome.REACHED, START + timedelta(minutes=50)),)) == []


@pytest.mark.parametrize("outcome", [FollowUpOutcome.VOICEMAIL, FollowUpOutcome.NO_ANSWER,
                                     FollowUpOutcome.EMAIL_SENT])
def test_follow_ups_that_reached_nobody_do_not_stop_it(outcome: FollowUpOutcome) -> None:
    assert one(fire(follow_ups=(follow_up(1, outcome, START + timedelta(minutes=20)),)), RaiseAlert)


def test_the_alert_holds_the_whole_timeline_in_order() -> None:
    calls = (follow_up(1, FollowUpOutcome.VOICEMAIL, START + timedelta(minutes=35)),
             follow_up(1, FollowUpOutcome.NO_ANSWER, START + timedelta(minutes=20)))
    steps = {1: (TimelineEntry(utc(2026, 3, 10, 9, 15), "No-show alert sent to the tutor and AP office."),)}
    alert = one(fire(follow_ups=calls, earlier_steps=steps), RaiseAlert)
    assert [(e["local"], e["what"]) for e in alert.facts["timeline"]] == [
        ("09:00", 'The session "Maths tuition" began.'),
        ("09:15", "Marked no contact (N) by watcher."),
        ("09:15", "No-show alert sent to the tutor and AP office."),
        ("09:20", "Tried Carla Example by phone: no answer."),
        ("09:35", "Tried Carla Example by phone: voicemail."),
    ]
    assert "2 follow-ups were logged (no answer at 09:20 and voicemail at 09:35)." in alert.why


def test_a_pupil_not_on_a_school_roll_needs_a_police_decision() -> None:
    alert = one(fire(on_roll=False), RaiseAlert)
    assert alert.facts["police_decision_required"] is True
    assert ("Ava Example is not on a school roll: a missing-from-education report to the police must be "
            "considered; record your decision.") in alert.why


def test_a_pupil_on_a_school_roll_needs_no_police_decision() -> None:
    alert = one(fire(), RaiseAlert)
    assert alert.facts["police_decision_required"] is False
    assert "police" not in alert.why


def test_a_pupil_still_unmarked_at_minute_60_is_escalated_too() -> None:
    alert = one(fire(marks=()), RaiseAlert)
    assert alert.facts["timeline"][-1]["what"] == "Still unmarked."


@pytest.mark.parametrize("status", [MarkStatus.LATE, MarkStatus.PRESENT])
def test_a_pupil_who_arrived_after_the_no_show_is_not_escalated(status: MarkStatus) -> None:
    assert fire(marks=(mark(1, status, START + timedelta(minutes=40)),)) == []


def test_a_notice_received_at_minute_30_means_contact_was_made() -> None:
    assert fire(notices=(notice(1, START + timedelta(minutes=30), "Family emergency"),)) == []


def test_a_late_escalation_says_so() -> None:
    alert = one(fire(now=DUE + timedelta(minutes=90)), RaiseAlert)
    assert alert.late_by_seconds == 5400
    assert alert.why.endswith("This alert is 1 hour 30 minutes late: it was due at 10:00.")
