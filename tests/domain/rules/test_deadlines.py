"""Deadline planning: windows from the scheduled start, exact across the UK clock changes."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from checkin.domain.model import SessionInfo, SessionKind, SessionMode, SessionStatus
from checkin.domain.rules import DeadlineSpec, Policy, RuleConfig, ack_deadline, plan_ack_deadline, plan_deadlines
from checkin.domain.rules import preset as preset_named

from .builders import LONDON, london, session, utc

ROSTER = (1, 2, 3)
LONG_BEFORE = utc(2026, 1, 1)


def planned(policy: Policy, info: SessionInfo, now: datetime = LONG_BEFORE, roster: tuple[int, ...] = ROSTER
            ) -> dict[str, datetime]:
    specs = plan_deadlines(info, roster, policy, LONDON, now)
    assert all(d.person_id is None for d in specs)
    return {d.rule_id: d.due_at for d in specs}


@pytest.mark.parametrize(("start", "expected"), [
    # GMT, an ordinary Tuesday: local and UTC agree.
    (london(2026, 3, 10, 9, 0), {"AP-REPORT": utc(2026, 3, 10, 9, 15), "AP-NOSHOW": utc(2026, 3, 10, 9, 15),
                                 "AP-DSL": utc(2026, 3, 10, 10, 0)}),
    # BST: 09:00 local is 08:00 UTC.
    (london(2026, 6, 16, 9, 0), {"AP-REPORT": utc(2026, 6, 16, 8, 15), "AP-NOSHOW": utc(2026, 6, 16, 8, 15),
                                 "AP-DSL": utc(2026, 6, 16, 9, 0)}),
    # 29 March 2026: 00:50 GMT; clocks jump 01:00 -> 02:00, so +15 real minutes is 02:05 BST (01:05 UTC).
    (london(2026, 3, 29, 0, 50), {"AP-REPORT": utc(2026, 3, 29, 1, 5), "AP-NOSHOW": utc(2026, 3, 29, 1, 5),
                                  "AP-DSL": utc(2026, 3, 29, 1, 50)}),
    # 25 October 2026: 01:50 BST (first showing); +15 real minutes is 01:05 GMT, the second 01:00-02:00.
    (london(2026, 10, 25, 1, 50, fold=0), {"AP-REPORT": utc(2026, 10, 25, 1, 5),
                                           "AP-NOSHOW": utc(2026, 10, 25, 1, 5),
                                           "AP-DSL": utc(2026, 10, 25, 1, 50)}),
    # 25 October 2026: 01:50 GMT (second showing).
    (london(2026, 10, 25, 1, 50, fold=1), {"AP-REPORT": utc(2026, 10, 25, 2, 5),
                                           "AP-NOSHOW": utc(2026, 10, 25, 2, 5),
                                           "AP-DSL": utc(2026, 10, 25, 2, 50)}),
])
def test_ap_windows_are_real_minutes_after_the_scheduled_start(start: datetime,
                                                                expected: dict[str, datetime]) -> None:
    assert planned(preset_named("ap_tuition"), session(start)) == expected


def test_ap_rules_plan_nothing_for_a_session_of_another_kind() -> None:
    assert planned(preset_named("ap_tuition"), session(kind=SessionKind.WORKSHOP)) == {}


def test_the_sts_face_to_face_windows_hang_off_the_start_and_register_window() -> None:
    info = session(london(2026, 3, 10, 9, 0), kind=SessionKind.WORKSHOP, minutes=120)
    assert planned(preset_named("apprenticeship_f2f"), info) == {
        "TUTOR-EARLY": utc(2026, 3, 10, 8, 50), "F2F-REGISTER": utc(2026, 3, 10, 9, 30),
        "EMPLOYER-SAME-DAY": utc(2026, 3, 10, 9, 30)}


def test_a_longer_register_window_moves_the_register_and_employer_deadlines_together() -> None:
    policy = Policy(preset_named("apprenticeship_f2f").rules, register_window_minutes=45)
    due = planned(policy, session(kind=SessionKind.WORKSHOP))
    assert due["F2F-REGISTER"] == due["EMPLOYER-SAME-DAY"] == utc(2026, 3, 10, 9, 45)


def test_a_missed_1_2_1_is_planned_for_the_end_of_the_session() -> None:
    info = session(kind=SessionKind.ONE_TO_ONE, minutes=45)
    assert planned(preset_named("apprenticeship_f2f"), info)["REBOOK-121"] == utc(2026, 3, 10, 9, 45)


def test_rebooking_is_not_planned_for_a_group_workshop() -> None:
    assert "REBOOK-121" not in planned(preset_named("apprenticeship_f2f"), session(kind=SessionKind.WORKSHOP))


@pytest.mark.parametrize(("start", "due"), [
    # Clock-change spring day: 09:00 BST is 08:00 UTC; a 07:00 session waits for it.
    (london(2026, 3, 29, 7, 0), utc(2026, 3, 29, 8, 0)),
    # Clock-change autumn day: 09:00 GMT is 09:00 UTC.
    (london(2026, 10, 25, 7, 0), utc(2026, 10, 25, 9, 0)),
    # The day before the spring change, still GMT.
    (london(2026, 3, 28, 7, 0), utc(2026, 3, 28, 9, 0)),
    # Starting 08:40: 09:10 is later than 09:00, so start + 30 wins.
    (london(2026, 3, 29, 8, 40), utc(2026, 3, 29, 8, 10)),
    (london(2026, 10, 25, 14, 0), utc(2026, 10, 25, 14, 30)),
])
def test_employer_remote_is_due_at_nine_local_or_start_plus_30_if_later(start: datetime, due: datetime) -> None:
    info = session(start, kind=SessionKind.WORKSHOP, mode=SessionMode.REMOTE)
    assert planned(preset_named("apprenticeship_f2f"), info)["EMPLOYER-REMOTE"] == due


def test_a_remote_session_gets_no_face_to_face_deadlines() -> None:
    info = session(kind=SessionKind.WORKSHOP, mode=SessionMode.REMOTE)
    assert set(planned(preset_named("apprenticeship_f2f"), info)) == {"TUTOR-EARLY", "EMPLOYER-REMOTE"}


@pytest.mark.parametrize(("roster", "planned_call"), [((1, 2, 3), True), ((1, 2), False), ((1, 2, 2), False)])
def test_an_events_call_is_planned_only_for_three_or_more_expected(roster: tuple[int, ...],
                                                                    planned_call: bool) -> None:
    due = planned(preset_named("residential_events"), session(kind=SessionKind.RESIDENTIAL), roster=roster)
    assert ("EVENTS-CALL" in due) is planned_call
    if planned_call:
        assert due["EVENTS-CALL"] == utc(2026, 3, 10, 9, 30)


@pytest.mark.parametrize("status", [SessionStatus.CANCELLED, SessionStatus.FORCE_MAJEURE])
def test_a_cancelled_session_plans_nothing(status: SessionStatus) -> None:
    assert planned(preset_named("ap_tuition"), session(status=status)) == {}


def test_an_empty_roster_plans_only_the_tutors_check_in() -> None:
    info = session(kind=SessionKind.ONE_TO_ONE)
    assert set(planned(preset_named("apprenticeship_f2f"), info, roster=())) == {"TUTOR-EARLY"}


def test_windows_already_closed_at_planning_time_are_left_out() -> None:
    info = session(kind=SessionKind.WORKSHOP)
    due = planned(preset_named("apprenticeship_f2f"), info, now=utc(2026, 3, 10, 9, 5))
    assert set(due) == {"F2F-REGISTER", "EMPLOYER-SAME-DAY"}


def test_a_window_due_exactly_now_is_still_planned() -> None:
    due = planned(preset_named("ap_tuition"), session(), now=utc(2026, 3, 10, 9, 15))
    assert set(due) == {"AP-REPORT", "AP-NOSHOW", "AP-DSL"}


def test_deadlines_come_earliest_first() -> None:
    specs = plan_deadlines(session(kind=SessionKind.ONE_TO_ONE), ROSTER, preset_named("apprenticeship_f2f"),
                           LONDON, utc(2026, 1, 1))
    assert [d.rule_id for d in specs] == ["TUTOR-EARLY", "EMPLOYER-SAME-DAY", "F2F-REGISTER", "REBOOK-121"]


def test_a_changed_offset_moves_its_deadline() -> None:
    policy = Policy((RuleConfig.default("AP-DSL", offset_minutes=45),))
    assert planned(policy, session()) == {"AP-DSL": utc(2026, 3, 10, 9, 45)}


def test_a_start_without_a_zone_is_refused() -> None:
    naive = replace(session(), starts_at=datetime(2026, 3, 10, 9, 0))
    with pytest.raises(ValueError, match="no time zone"):
        plan_deadlines(naive, ROSTER, preset_named("ap_tuition"), LONDON, utc(2026, 1, 1))


@pytest.mark.parametrize(("created", "ack_minutes", "due"), [
    (utc(2026, 3, 10, 10, 0), 15, utc(2026, 3, 10, 10, 15)),
    (utc(2026, 3, 10, 10, 0), 20, utc(2026, 3, 10, 10, 20)),
    # Across the spring change: 00:55 GMT + 15 real minutes = 01:10 UTC (02:10 BST).
    (london(2026, 3, 29, 0, 55), 15, utc(2026, 3, 29, 1, 10)),
])
def test_an_acknowledgement_is_due_ack_minutes_after_the_alert(created: datetime, ack_minutes: int,
                                                               due: datetime) -> None:
    policy = Policy(preset_named("ap_tuition").rules, ack_minutes=ack_minutes)
    assert plan_ack_deadline(created, policy) == due


def test_no_acknowledgement_deadline_when_dsl_ack_is_off() -> None:
    assert plan_ack_deadline(utc(2026, 3, 10, 10), preset_named("coaching")) is None
    assert ack_deadline(9, 1, utc(2026, 3, 10, 10), preset_named("coaching")) is None


def test_the_acknowledgement_deadline_row_names_its_alert() -> None:
    spec = ack_deadline(9, 1, utc(2026, 3, 10, 10), preset_named("ap_tuition"))
    assert spec == DeadlineSpec("DSL-ACK", 1, utc(2026, 3, 10, 10, 15), stage=1, alert_id=9)
