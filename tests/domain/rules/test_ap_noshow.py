"""AP-NOSHOW at start + 15: unmarked, or absent with no reason and no notice, is a no-show with no contact."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from checkin.domain.model import (
    AlertSeverity,
    Contact,
    Mark,
    MarkSource,
    MarkStatus,
    Notice,
    Person,
    SessionKind,
    SessionStatus,
)
from checkin.domain.rules import (
    Action,
    CreateTask,
    MarkNoShow,
    NotDueError,
    RaiseAlert,
    SendReport,
    evaluate_deadline,
)
from checkin.domain.rules.ap_noshow import evaluate_ap_noshow

from .builders import (
    START,
    attendance_contact,
    context,
    emergency,
    first_deadline,
    kinds,
    learner,
    london,
    mark,
    notice,
    of_type,
    one,
    pupil,
    rule_of,
    session,
    snapshot,
    utc,
)

AVA = pupil()
DUE = utc(2026, 3, 10, 9, 15)
CONTACTS = (emergency(), attendance_contact())


def fire(*, marks: tuple[Mark, ...] = (), notices: tuple[Notice, ...] = (), now: datetime = DUE,
         roster: tuple[Person, ...] = (AVA,), contacts: tuple[Contact, ...] = CONTACTS,
         **session_kw: Any) -> list[Action]:
    info = session(**session_kw)
    ctx = context()
    deadline = first_deadline(ctx.policy, "AP-NOSHOW", info)
    return evaluate_ap_noshow(rule_of(ctx.policy, "AP-NOSHOW"), snapshot(info, roster, marks, notices, (), contacts),
                              deadline, now, ctx)


def test_an_unmarked_pupil_at_minute_15_is_marked_no_show_alerted_tasked_and_reported() -> None:
    actions = fire()
    assert kinds(actions) == ["MarkNoShow", "RaiseAlert", "CreateTask", "SendReport"]
    alert, task, report = one(actions, RaiseAlert), one(actions, CreateTask), one(actions, SendReport)
    assert one(actions, MarkNoShow) == MarkNoShow(1, "N", "AP-NOSHOW", "No contact received by 09:15")
    assert (alert.rule_id, alert.kind, alert.severity, alert.person_id) == ("AP-NOSHOW", "no_show",
                                                                           AlertSeverity.WARNING, 1)
    assert alert.recipients == ("tutor", "ap_office") == task.recipients
    assert alert.facts["emergency_contacts"] == [{"name": "Carla Example", "relationship": "mother",
                                                  "phone": "07700 900101", "email": "", "organisation": ""}]
    assert (task.kind, task.due_at) == ("call_emergency_contacts", DUE)
    assert (report.kind, report.recipients, report.facts["status"]) == (
        "ap_non_attendance", ("attendance_contacts",), "no_show_no_contact")
    assert "designated safeguarding lead" in report.facts["action_taken"]


def test_the_alert_says_why_in_a_sentence_a_dsl_can_act_on() -> None:
    alert = one(fire(), RaiseAlert)
    assert alert.why == ("Ava Example was not marked by 09:15, 15 minutes after the 09:00 session began; no notice "
                         "was given. Call Carla Example (mother) on 07700 900101 now.")
    assert alert.late_by_seconds == 0


@pytest.mark.parametrize(("status", "recorded_at"), [
    (MarkStatus.PRESENT, DUE - timedelta(seconds=1)),  # marked at 14:59
    (MarkStatus.LATE, DUE - timedelta(minutes=1)),
    (MarkStatus.LATE, DUE),  # marked at the last second
    (MarkStatus.ABSENT_AUTHORISED, DUE - timedelta(minutes=5)),
])
def test_a_pupil_marked_by_the_deadline_gets_no_no_show(status: MarkStatus, recorded_at: datetime) -> None:
    assert fire(marks=(mark(1, status, recorded_at),)) == []


def test_a_pupil_marked_absent_with_no_reason_and_no_notice_is_a_no_show() -> None:
    actions = fire(marks=(mark(1, MarkStatus.ABSENT_UNAUTHORISED, START, code="O"),))
    assert kinds(actions) == ["MarkNoShow", "RaiseAlert", "CreateTask", "SendReport"]
    assert one(actions, RaiseAlert).why.startswith("Ava Example was marked absent with no reason by 09:15")


def test_a_pupil_marked_absent_with_a_reason_is_not_a_no_show() -> None:
    assert fire(marks=(mark(1, MarkStatus.ABSENT_UNAUTHORISED, START, code="O", reason="Overslept"),)) == []


@pytest.mark.parametrize("received", [START - timedelta(hours=12), START + timedelta(minutes=10), DUE])
def test_any_notice_even_after_the_start_means_contact_was_received(received: datetime) -> None:
    assert fire(notices=(notice(1, received, "Usual school duties", accepted=False),)) == []


def test_a_pupil_already_marked_no_contact_is_not_marked_again_but_is_still_chased() -> None:
    actions = fire(marks=(mark(1, MarkStatus.NO_CONTACT, START, code="N", source=MarkSource.TABLET),))
    assert kinds(actions) == ["RaiseAlert", "CreateTask", "SendReport"]


def test_evaluating_at_minute_14_59_is_refused_as_not_due() -> None:
    with pytest.raises(NotDueError):
        fire(now=DUE - timedelta(seconds=1))


@pytest.mark.parametrize(("now", "late_by"), [(DUE, 0), (DUE + timedelta(seconds=60), 0),
                                              (DUE + timedelta(seconds=61), 61), (DUE + timedelta(minutes=7), 420)])
def test_a_deadline_fired_over_a_minute_late_says_so_and_by_how_much(now: datetime, late_by: int) -> None:
    alert = one(fire(now=now), RaiseAlert)
    assert alert.late_by_seconds == late_by
    assert ("This alert is" in alert.why) is bool(late_by)


def test_the_late_clause_gives_the_lateness_and_the_due_time() -> None:
    why = one(fire(now=DUE + timedelta(minutes=7)), RaiseAlert).why
    assert why.endswith(" This alert is 7 minutes late: it was due at 09:15.")


def test_a_pupil_with_no_emergency_contact_is_flagged_to_the_office() -> None:
    alert = one(fire(contacts=(attendance_contact(),)), RaiseAlert)
    assert alert.facts["emergency_contacts"] == []
    assert "No emergency contact is on record" in alert.why


def test_only_ap_pupils_are_chased_and_each_on_their_own() -> None:
    roster = (AVA, pupil(2, "Omar", "Sample"), learner(3))
    actions = fire(roster=roster, marks=(mark(2, MarkStatus.PRESENT, START),))
    assert {a.person_id for a in of_type(actions, RaiseAlert)} == {1}
    assert len(actions) == 4


@pytest.mark.parametrize("status", [SessionStatus.CANCELLED, SessionStatus.FORCE_MAJEURE])
def test_a_cancelled_session_chases_nobody(status: SessionStatus) -> None:
    assert fire(status=status) == []


def test_a_session_outside_the_rules_kinds_chases_nobody() -> None:
    assert fire(kind=SessionKind.WORKSHOP) == []


def test_on_the_spring_clock_change_the_no_show_fires_15_real_minutes_after_a_0050_start() -> None:
    start = london(2026, 3, 29, 0, 50)
    due = utc(2026, 3, 29, 1, 5)  # 02:05 BST
    info = session(start)
    ctx = context()
    deadline = first_deadline(ctx.policy, "AP-NOSHOW", info)
    assert deadline.due_at == due
    alert = one(evaluate_ap_noshow(rule_of(ctx.policy, "AP-NOSHOW"), snapshot(info, (AVA,), contacts=CONTACTS),
                                   deadline, due, ctx), RaiseAlert)
    assert alert.why.startswith("Ava Example was not marked by 02:05, 15 minutes after the 00:50 session began")


def test_the_facts_are_json_ready() -> None:
    for action in fire():
        json.dumps(getattr(action, "facts", {}))


def test_the_dispatcher_routes_a_no_show_deadline_here() -> None:
    info = session()
    ctx = context()
    deadline = first_deadline(ctx.policy, "AP-NOSHOW", info)
    actions = evaluate_deadline(snapshot(info, (AVA,), contacts=CONTACTS), deadline, DUE, ctx)
    assert kinds(actions) == ["MarkNoShow", "RaiseAlert", "CreateTask", "SendReport"]
