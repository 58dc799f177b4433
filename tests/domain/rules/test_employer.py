"""EMPLOYER-SAME-DAY (face-to-face) and EMPLOYER-REMOTE: unauthorised absence goes to the employer on the day."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from checkin.domain.model import Contact, Mark, MarkStatus, Notice, SessionKind, SessionMode
from checkin.domain.rules import Action, CreateTask, RaiseAlert, SendReport, preset
from checkin.domain.rules.employer import evaluate_employer_remote, evaluate_employer_same_day

from .builders import (
    START,
    context,
    employer_contact,
    first_deadline,
    kinds,
    learner,
    london,
    mark,
    notice,
    of_type,
    one,
    rule_of,
    session,
    snapshot,
    utc,
)

STS = preset("apprenticeship_f2f")
BEN = learner(1)


def same_day(marks: tuple[Mark, ...] = (), notices: tuple[Notice, ...] = (),
             contacts: tuple[Contact, ...] = (employer_contact(1),), **kw: Any) -> list[Action]:
    info = session(kind=SessionKind.WORKSHOP, **kw)
    deadline = first_deadline(STS, "EMPLOYER-SAME-DAY", info)
    return evaluate_employer_same_day(rule_of(STS, "EMPLOYER-SAME-DAY"),
                                      snapshot(info, (BEN,), marks, notices, (), contacts), deadline,
                                      deadline.due_at, context(STS))


def remote(start: datetime = START, now: datetime | None = None, marks: tuple[Mark, ...] = (),
           notices: tuple[Notice, ...] = ()) -> list[Action]:
    info = session(start, kind=SessionKind.WORKSHOP, mode=SessionMode.REMOTE)
    deadline = first_deadline(STS, "EMPLOYER-REMOTE", info)
    return evaluate_employer_remote(rule_of(STS, "EMPLOYER-REMOTE"),
                                    snapshot(info, (BEN,), marks, notices, (), (employer_contact(1),)),
                                    deadline, now or deadline.due_at, context(STS))


def test_an_unmarked_learner_with_an_employer_is_reported_to_the_employer_the_same_day() -> None:
    report = one(same_day(), SendReport)
    assert (report.kind, report.person_id, report.recipients) == ("employer_absence", 1, ("employer",))
    assert (report.facts["status"], report.facts["employer"]) == ("unmarked", "Fictional Widgets Ltd")
    assert report.facts["employer_contacts"][0]["email"] == "eli@widgets.example.org"
    assert report.facts["due_at"] == utc(2026, 3, 10, 9, 30).isoformat()


@pytest.mark.parametrize(("marks", "notices", "reported"), [
    ((), (), True),
    ((), (notice(1, START - timedelta(days=1)),), False),  # accepted notice
    ((), (notice(1, START + timedelta(minutes=20)),), False),  # accepted notice after the start still authorises
    ((), (notice(1, START, "Usual school duties", accepted=False),), True),
    ((mark(1, MarkStatus.ABSENT_UNAUTHORISED, START, code="U", reason="Stayed at work"),), (), True),
    ((mark(1, MarkStatus.ABSENT_AUTHORISED, START, code="A"),), (), False),
    ((mark(1, MarkStatus.NO_CONTACT, START, code="N"),), (), True),
    ((mark(1, MarkStatus.PRESENT, START),), (), False),
    ((mark(1, MarkStatus.LATE, START + timedelta(minutes=29)),), (), False),
])
def test_only_an_unauthorised_absence_is_reported(marks: tuple[Mark, ...], notices: tuple[Notice, ...],
                                                   reported: bool) -> None:
    assert bool(same_day(marks, notices)) is reported


def test_a_learner_without_an_employer_contact_is_not_reported() -> None:
    assert same_day(contacts=()) == []


def test_the_same_day_rule_skips_remote_sessions() -> None:
    assert same_day(mode=SessionMode.REMOTE) == []


def test_a_remote_absence_emails_the_employer_and_tasks_and_alerts_the_manager() -> None:
    actions = remote()
    assert kinds(actions) == ["SendReport", "CreateTask", "RaiseAlert"]
    report, task, alert = one(actions, SendReport), one(actions, CreateTask), one(actions, RaiseAlert)
    assert report.recipients == ("employer",)
    assert (task.kind, task.recipients, task.due_at) == ("contact_employer", ("manager",), utc(2026, 3, 11, 0, 0))
    assert alert.recipients == ("manager",)
    assert alert.why == ('Ben Sample did not attend the remote session "Maths tuition" at 09:00 on Tuesday 10 March '
                         "2026 and the absence is unauthorised; contact Fictional Widgets Ltd this morning. The "
                         "employer has been e-mailed.")


@pytest.mark.parametrize(("start", "task_due"), [
    (london(2026, 3, 29, 7, 0), utc(2026, 3, 29, 23, 0)),  # the 23-hour day ends at 00:00 BST = 23:00 UTC
    (london(2026, 10, 25, 7, 0), utc(2026, 10, 26, 0, 0)),  # the 25-hour day ends at 00:00 GMT
])
def test_on_clock_change_days_the_managers_task_is_due_by_local_midnight(start: datetime,
                                                                         task_due: datetime) -> None:
    assert one(remote(start), CreateTask).due_at == task_due


def test_a_remote_learner_with_an_accepted_notice_is_not_chased() -> None:
    assert remote(notices=(notice(1, START - timedelta(hours=1)),)) == []


def test_the_remote_rule_skips_face_to_face_sessions() -> None:
    info = session(kind=SessionKind.WORKSHOP)
    deadline = first_deadline(STS, "EMPLOYER-REMOTE", info)
    assert evaluate_employer_remote(rule_of(STS, "EMPLOYER-REMOTE"), snapshot(info, (BEN,)), deadline,
                                    deadline.due_at, context(STS)) == []


def test_a_late_remote_check_says_so() -> None:
    alert = one(remote(now=utc(2026, 3, 10, 11, 0)), RaiseAlert)
    assert alert.late_by_seconds == 5400
    assert one(remote(now=utc(2026, 3, 10, 11, 0)), SendReport).facts["late_by_seconds"] == 5400


def test_every_absent_learner_gets_their_own_report() -> None:
    info = session(kind=SessionKind.WORKSHOP)
    roster = (BEN, learner(2, "Cleo", "Sample"))
    deadline = first_deadline(STS, "EMPLOYER-SAME-DAY", info)
    actions = evaluate_employer_same_day(rule_of(STS, "EMPLOYER-SAME-DAY"),
                                         snapshot(info, roster, (), (), (), (employer_contact(1), employer_contact(2))),
                                         deadline, deadline.due_at, context(STS))
    assert sorted(r.person_id for r in of_type(actions, SendReport)) == [1, 2]
