"""REBOOK-121: a missed 1-2-1 gets a rebooking task due in 5 working days; overdue alerts the manager."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from checkin.domain.model import Mark, MarkStatus, SessionKind, SessionStatus
from checkin.domain.rules import Action, CreateTask, DeadlineSpec, RaiseAlert, ScheduleDeadline, preset
from checkin.domain.rules.rebook import evaluate_rebook

from .builders import context, first_deadline, kinds, learner, london, mark, one, rule_of, session, snapshot, utc

STS = preset("apprenticeship_f2f")
# England and Wales, 2026.
BANK_HOLIDAYS = frozenset({date(2026, 1, 1), date(2026, 4, 3), date(2026, 4, 6), date(2026, 5, 4),
                           date(2026, 5, 25), date(2026, 8, 31), date(2026, 12, 25), date(2026, 12, 28)})
MAUNDY_THURSDAY = london(2026, 4, 2, 14, 0)


def missed(start: datetime = MAUNDY_THURSDAY, marks: tuple[Mark, ...] = (), **kw: Any) -> list[Action]:
    info = session(start, kind=SessionKind.ONE_TO_ONE, **kw)
    deadline = first_deadline(STS, "REBOOK-121", info)
    return evaluate_rebook(rule_of(STS, "REBOOK-121"), snapshot(info, (learner(1),), marks), deadline,
                           deadline.due_at, context(STS, bank_holidays=BANK_HOLIDAYS))


def overdue(open_tasks: frozenset[tuple[str, int | None]], **kw: Any) -> list[Action]:
    info = session(MAUNDY_THURSDAY, kind=SessionKind.ONE_TO_ONE, **kw)
    deadline = DeadlineSpec("REBOOK-121", 1, utc(2026, 4, 13, 23, 0), stage=1)
    return evaluate_rebook(rule_of(STS, "REBOOK-121"), snapshot(info, (learner(1),)), deadline,
                           utc(2026, 4, 13, 23, 0), context(STS, open_tasks=open_tasks))


def test_a_missed_1_2_1_before_easter_is_due_five_working_days_later_skipping_the_bank_holidays() -> None:
    actions = missed()
    task = one(actions, CreateTask)
    # Fri 3 (Good Friday), the weekend and Mon 6 (Easter Monday) are skipped: Tue 7 ... Mon 13 April.
    assert (task.kind, task.recipients, task.facts["rebook_by"]) == ("rebook", ("tutor",), "2026-04-13")
    assert task.due_at == utc(2026, 4, 13, 23, 0)  # local midnight at the end of the day, BST
    assert task.title == "Agree an alternative 1-2-1 with Ben Sample by Monday 13 April 2026"
    assert one(actions, ScheduleDeadline) == ScheduleDeadline("REBOOK-121", 1, task.due_at, stage=1)


def test_a_missed_1_2_1_on_a_friday_is_due_the_next_friday() -> None:
    task = one(missed(london(2026, 3, 6, 10, 0)), CreateTask)
    assert task.facts["rebook_by"] == "2026-03-13"


@pytest.mark.parametrize(("status", "rebooked"), [
    (MarkStatus.PRESENT, False), (MarkStatus.LATE, False), (MarkStatus.LEFT_EARLY, False),
    (MarkStatus.CATCH_UP, False), (MarkStatus.ABSENT_AUTHORISED, True), (MarkStatus.ABSENT_UNAUTHORISED, True),
    (MarkStatus.NO_CONTACT, True),
])
def test_only_a_missed_session_is_rebooked(status: MarkStatus, rebooked: bool) -> None:
    assert bool(missed(marks=(mark(1, status, MAUNDY_THURSDAY),))) is rebooked


def test_a_cancelled_1_2_1_is_not_rebooked_by_this_rule() -> None:
    assert missed(status=SessionStatus.CANCELLED) == []


def test_an_overdue_rebooking_task_alerts_the_manager() -> None:
    alert = one(overdue(frozenset({("rebook", 1)})), RaiseAlert)
    assert (alert.kind, alert.recipients, alert.person_id) == ("rebook_overdue", ("manager",), 1)
    assert alert.why == ('The 1-2-1 "Maths tuition" on Thursday 2 April 2026 at 14:00 was missed by Ben Sample and '
                         "no alternative session was agreed within 5 working days.")


def test_a_rebooking_done_in_time_raises_nothing() -> None:
    assert overdue(frozenset()) == []
    assert overdue(frozenset({("call", 1)})) == []


def test_the_overdue_check_still_runs_when_the_session_was_cancelled_later() -> None:
    assert kinds(overdue(frozenset({("rebook", 1)}), status=SessionStatus.CANCELLED)) == ["RaiseAlert"]
