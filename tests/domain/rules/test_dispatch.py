"""The dispatcher: every rule id routes to its rule, and a planned session plays out end to end."""

from __future__ import annotations

from datetime import timedelta

import pytest

from checkin.domain.model import MarkStatus, SessionKind
from checkin.domain.rules import (
    RULE_IDS,
    RULES,
    MarkNoShow,
    NotDueError,
    Policy,
    PolicyError,
    RaiseAlert,
    RuleConfig,
    SendReport,
    evaluate_deadline,
    plan_deadlines,
    preset,
)
from checkin.domain.rules.deadlines import DeadlineSpec

from .builders import (
    LONDON,
    START,
    attendance_contact,
    context,
    emergency,
    kinds,
    mark,
    of_type,
    pupil,
    session,
    snapshot,
    utc,
)


def test_every_catalogued_rule_has_an_evaluator() -> None:
    assert set(RULES) == set(RULE_IDS)


def test_an_unknown_rule_id_is_refused() -> None:
    with pytest.raises(PolicyError):
        evaluate_deadline(snapshot(session(), ()), DeadlineSpec("AP-TELEPATHY", None, START), START, context())


def test_a_rule_missing_from_the_policy_does_nothing() -> None:
    deadline = DeadlineSpec("AP-NOSHOW", None, utc(2026, 3, 10, 9, 15))
    ctx = context(Policy((RuleConfig.default("AP-REPORT"),)))
    assert evaluate_deadline(snapshot(session(), (pupil(),)), deadline, deadline.due_at, ctx) == []


def test_a_rule_switched_off_after_planning_does_nothing() -> None:
    deadline = DeadlineSpec("AP-NOSHOW", None, utc(2026, 3, 10, 9, 15))
    ctx = context(Policy((RuleConfig.default("AP-NOSHOW", enabled=False),)))
    assert evaluate_deadline(snapshot(session(), (pupil(),)), deadline, deadline.due_at, ctx) == []


def test_a_deadline_handed_over_early_is_refused_even_for_a_rule_that_is_off() -> None:
    deadline = DeadlineSpec("AP-NOSHOW", None, utc(2026, 3, 10, 9, 15))
    ctx = context(Policy((RuleConfig.default("AP-NOSHOW", enabled=False),)))
    with pytest.raises(NotDueError):
        evaluate_deadline(snapshot(session(), (pupil(),)), deadline, deadline.due_at - timedelta(seconds=1), ctx)


def test_an_ap_session_plays_out_from_plan_to_safeguarding_alert() -> None:
    ava, omar = pupil(1), pupil(2, "Omar", "Sample")
    info = session(kind=SessionKind.AP_TUITION)
    policy = preset("ap_tuition")
    specs = plan_deadlines(info, (1, 2), policy, LONDON, utc(2026, 3, 10, 8, 0))
    assert [(d.rule_id, d.due_at) for d in specs] == [("AP-NOSHOW", utc(2026, 3, 10, 9, 15)),
                                                      ("AP-REPORT", utc(2026, 3, 10, 9, 15)),
                                                      ("AP-DSL", utc(2026, 3, 10, 10, 0))]
    contacts = (emergency(1), attendance_contact(1), emergency(2), attendance_contact(2))
    marks = {2: mark(2, MarkStatus.PRESENT, START + timedelta(minutes=3))}
    ctx = context(policy, la_ap_address="ap-reporting@la.example.org")
    fired: list[str] = []
    for spec in specs:
        snap = snapshot(info, (ava, omar), marks.values(), contacts=contacts)
        actions = evaluate_deadline(snap, spec, spec.due_at, ctx)
        fired += [f"{spec.rule_id}:{kind}" for kind in kinds(actions)]
        for no_show in of_type(actions, MarkNoShow):
            marks[no_show.person_id] = mark(no_show.person_id, MarkStatus.NO_CONTACT, spec.due_at, no_show.code)
    assert fired == ["AP-NOSHOW:MarkNoShow", "AP-NOSHOW:RaiseAlert", "AP-NOSHOW:CreateTask", "AP-NOSHOW:SendReport",
                     "AP-REPORT:SendReport", "AP-REPORT:SendReport", "AP-DSL:RaiseAlert"]


def test_the_ap_report_after_a_no_show_says_absent_and_the_dsl_alert_names_only_the_missing_pupil() -> None:
    info = session()
    ctx = context()
    marks = (mark(1, MarkStatus.NO_CONTACT, utc(2026, 3, 10, 9, 15), "N"), mark(2, MarkStatus.PRESENT, START))
    snap = snapshot(info, (pupil(1), pupil(2, "Omar", "Sample")), marks)
    reports = of_type(evaluate_deadline(snap, DeadlineSpec("AP-REPORT", None, utc(2026, 3, 10, 9, 15)),
                                        utc(2026, 3, 10, 9, 15), ctx), SendReport)
    assert {r.person_id: r.facts["status"] for r in reports} == {1: "absent", 2: "present"}
    alerts = of_type(evaluate_deadline(snap, DeadlineSpec("AP-DSL", None, utc(2026, 3, 10, 10, 0)),
                                       utc(2026, 3, 10, 10, 0), ctx), RaiseAlert)
    assert [a.person_id for a in alerts] == [1]
