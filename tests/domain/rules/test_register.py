"""F2F-REGISTER (register within 30 minutes: tutor, then manager) and TUTOR-EARLY (10 minutes before)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from checkin.domain.model import MarkStatus, SessionKind, SessionMode
from checkin.domain.rules import Action, DeadlineSpec, NotDueError, RaiseAlert, ScheduleDeadline, preset
from checkin.domain.rules.register import evaluate_f2f_register, evaluate_tutor_early

from .builders import (
    START,
    context,
    first_deadline,
    kinds,
    learner,
    london,
    mark,
    one,
    rule_of,
    session,
    snapshot,
    utc,
)

STS = preset("apprenticeship_f2f")
ROSTER = (learner(1), learner(2, "Cleo", "Sample"), learner(3, "Dev", "Sample"))
WINDOW_END = utc(2026, 3, 10, 9, 30)


def register(stage: int = 0, due: datetime = WINDOW_END, now: datetime | None = None, **kw: Any) -> list[Action]:
    kw.setdefault("kind", SessionKind.WORKSHOP)
    info = session(**kw)
    snap = snapshot(info, ROSTER, (mark(1, MarkStatus.PRESENT, START),))
    return evaluate_f2f_register(rule_of(STS, "F2F-REGISTER"), snap, DeadlineSpec("F2F-REGISTER", None, due, stage),
                                 now or due, context(STS))


def test_an_incomplete_register_at_minute_30_alerts_the_tutor_and_schedules_the_manager() -> None:
    actions = register()
    alert = one(actions, RaiseAlert)
    assert (alert.kind, alert.recipients, alert.person_id) == ("register_incomplete", ("tutor",), None)
    assert alert.why == ('The register for "Maths tuition" (09:00, face-to-face) was not completed by 09:30, '
                         "30 minutes after the session began; 2 of 3 still unmarked.")
    assert alert.facts["unmarked"] == ["Cleo Sample", "Dev Sample"]
    assert one(actions, ScheduleDeadline) == ScheduleDeadline("F2F-REGISTER", None, utc(2026, 3, 10, 9, 45), stage=1)


def test_the_second_firing_alerts_the_tutors_manager_and_stops() -> None:
    actions = register(stage=1, due=utc(2026, 3, 10, 9, 45))
    assert kinds(actions) == ["RaiseAlert"]
    alert = one(actions, RaiseAlert)
    assert alert.recipients == ("manager",)
    assert "The tutor was already alerted; it is still not complete." in alert.why


@pytest.mark.parametrize(("completed_at", "stage"), [
    (WINDOW_END, 0),  # completed at the last second
    (WINDOW_END - timedelta(minutes=2), 0),
    (WINDOW_END + timedelta(minutes=5), 1),  # completed after the tutor's alert, before the manager's
])
def test_a_completed_register_stops_the_ladder(completed_at: datetime, stage: int) -> None:
    due = WINDOW_END + timedelta(minutes=15 * stage)
    assert register(stage=stage, due=due, register_completed_at=completed_at) == []


def test_a_remote_session_has_no_face_to_face_register_window() -> None:
    assert register(mode=SessionMode.REMOTE) == []


def test_the_register_deadline_is_not_due_at_minute_29_59() -> None:
    with pytest.raises(NotDueError):
        register(now=WINDOW_END - timedelta(seconds=1))


def early(now: datetime | None = None, start: datetime = START, **kw: Any) -> list[Action]:
    info = session(start, kind=SessionKind.WORKSHOP, **kw)
    deadline = first_deadline(STS, "TUTOR-EARLY", info)
    return evaluate_tutor_early(rule_of(STS, "TUTOR-EARLY"), snapshot(info, ROSTER), deadline,
                                now or deadline.due_at, context(STS))


def test_a_tutor_not_checked_in_by_start_minus_10_alerts_the_manager() -> None:
    alert = one(early(), RaiseAlert)
    assert (alert.kind, alert.recipients) == ("tutor_not_checked_in", ("manager",))
    assert alert.why == ('No tutor had checked in to "Maths tuition" by 08:50, 10 minutes before its 09:00 start; '
                         "cover may be needed.")


@pytest.mark.parametrize("checked_in", [utc(2026, 3, 10, 8, 49), utc(2026, 3, 10, 8, 50)])
def test_a_tutor_checked_in_by_start_minus_10_raises_nothing(checked_in: datetime) -> None:
    assert early(tutor_checked_in_at=checked_in) == []


def test_a_session_with_no_tutor_assigned_says_so() -> None:
    assert one(early(tutor_ids=()), RaiseAlert).why.startswith('No tutor is assigned to "Maths tuition" by 08:50')


def test_the_tutor_check_is_not_due_at_start_minus_10_minutes_and_1_second() -> None:
    with pytest.raises(NotDueError):
        early(now=utc(2026, 3, 10, 8, 49, 59))


def test_on_the_spring_clock_change_the_tutor_check_is_ten_real_minutes_before_a_bst_start() -> None:
    alert = one(early(start=london(2026, 3, 29, 9, 0), now=utc(2026, 3, 29, 7, 50)), RaiseAlert)
    assert "by 08:50, 10 minutes before its 09:00 start" in alert.why
