"""EVENTS-CALL at start + 30: an event participant unmarked with no notice joins the day's call list."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from checkin.domain.model import Mark, MarkStatus, Notice, Person, SessionKind
from checkin.domain.rules import Action, CreateTask, Policy, preset
from checkin.domain.rules.events import evaluate_events_call

from .builders import (
    START,
    context,
    first_deadline,
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

AMB = preset("residential_events")
PATTERN = Policy(AMB.rules, events_call_pattern_only=True)
ROSTER = (learner(1, phone="07700 900201"), learner(2, "Cleo", "Sample", phone="07700 900202"),
          learner(3, "Dev", "Sample"))


def fire(policy: Policy = AMB, roster: tuple[Person, ...] = ROSTER, marks: tuple[Mark, ...] = (),
         notices: tuple[Notice, ...] = (), start: datetime = START, **ctx: Any) -> list[CreateTask]:
    info = session(start, kind=SessionKind.RESIDENTIAL)
    c = context(policy, **ctx)
    deadline = first_deadline(policy, "EVENTS-CALL", info)
    actions: list[Action] = evaluate_events_call(rule_of(policy, "EVENTS-CALL"),
                                                 snapshot(info, roster, marks, notices), deadline, deadline.due_at, c)
    tasks = of_type(actions, CreateTask)
    assert len(tasks) == len(actions)
    return tasks


def test_an_unmarked_participant_with_no_notice_is_put_on_the_events_teams_call_list() -> None:
    present = (mark(2, MarkStatus.PRESENT, START), mark(3, MarkStatus.LATE, START + timedelta(minutes=5)))
    task = one(fire(marks=present), CreateTask)
    assert (task.kind, task.person_id, task.recipients, task.rule_id) == ("call", 1, ("events_team",), "EVENTS-CALL")
    assert task.title == "Call Ben Sample on 07700 900201 (09:00 Maths tuition)"
    assert task.facts["phone"] == "07700 900201"
    assert task.facts["outcomes"] == ["reached", "voicemail", "no_answer"]
    assert task.facts["email_follow_up_if_not_reached"] is True
    assert task.due_at == utc(2026, 3, 11, 0, 0)  # the day's list


def test_a_participant_who_gave_notice_even_late_is_not_called() -> None:
    notices = (notice(1, START + timedelta(minutes=10), "Train cancelled", accepted=False),)
    assert [t.person_id for t in fire(notices=notices)] == [2, 3]


def test_a_participant_without_a_phone_number_is_listed_for_an_email() -> None:
    task = next(t for t in fire() if t.person_id == 3)
    assert task.title.startswith("Call Dev Sample on no phone number on record: e-mail instead")


def test_a_session_with_fewer_than_three_expected_is_not_an_event() -> None:
    assert fire(roster=ROSTER[:2]) == []


@pytest.mark.parametrize(("earlier", "called"), [(0, False), (1, True), (4, True)])
def test_chasing_only_a_pattern_waits_for_the_second_unexplained_absence(earlier: int, called: bool) -> None:
    tasks = fire(PATTERN, marks=(mark(2, MarkStatus.PRESENT, START), mark(3, MarkStatus.PRESENT, START)),
                 previous_unexplained_absences={1: earlier})
    assert bool(tasks) is called
    if called:
        assert tasks[0].facts["unexplained_absences"] == earlier + 1


def test_without_the_pattern_option_the_first_absence_is_called() -> None:
    assert len(fire(previous_unexplained_absences={})) == 3


def test_on_the_autumn_clock_change_the_call_list_is_the_local_days() -> None:
    tasks = fire(start=london(2026, 10, 25, 10, 0))
    assert {t.due_at for t in tasks} == {utc(2026, 10, 26, 0, 0)}
