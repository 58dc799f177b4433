"""AP-REPORT at start + 15: every AP pupil's attendance to their contacts; corrections, never silent changes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from checkin.domain.model import Contact, Mark, MarkStatus, Notice, Person
from checkin.domain.rules import Action, RaiseAlert, SendReport, correction_for
from checkin.domain.rules.ap_report import evaluate_ap_report

from .builders import (
    START,
    attendance_contact,
    context,
    first_deadline,
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
ZED = pupil(2, "Zed", "Example", on_school_roll=False)
DUE = utc(2026, 3, 10, 9, 15)
LA = "ap-reporting@la.example.org"


def fire(*, roster: tuple[Person, ...] = (AVA,), marks: tuple[Mark, ...] = (), notices: tuple[Notice, ...] = (),
         contacts: tuple[Contact, ...] = (attendance_contact(1), attendance_contact(2)), now: datetime = DUE,
         start: datetime = START, **ctx: Any) -> list[Action]:
    info = session(start)
    c = context(**{"la_ap_address": LA, **ctx})
    return evaluate_ap_report(rule_of(c.policy, "AP-REPORT"), snapshot(info, roster, marks, notices, (), contacts),
                              first_deadline(c.policy, "AP-REPORT", info), now, c)


def report(actions: list[Action]) -> SendReport:
    return one(actions, SendReport)


def test_a_present_pupil_is_reported_present_with_the_arrival_time() -> None:
    sent = report(fire(marks=(mark(1, MarkStatus.PRESENT, START + timedelta(minutes=4)),)))
    assert (sent.kind, sent.person_id, sent.recipients, sent.correction) == (
        "ap_attendance", 1, ("attendance_contacts",), False)
    assert (sent.facts["status"], sent.facts["arrival_time"], sent.facts["present"]) == ("present", "09:04", True)


def test_a_late_pupil_is_reported_with_arrival_time_and_minutes_late() -> None:
    arrived = START + timedelta(minutes=8)
    sent = report(fire(marks=(mark(1, MarkStatus.LATE, arrived, code="L", arrived_at=arrived, minutes_late=8),)))
    assert (sent.facts["status"], sent.facts["arrival_time"], sent.facts["minutes_late"]) == ("late", "09:08", 8)


def test_an_absent_pupil_is_reported_with_the_reason_from_the_notice() -> None:
    sent = report(fire(notices=(notice(1, START - timedelta(hours=2), "Sickness"),)))
    assert (sent.facts["status"], sent.facts["reason"], sent.facts["reason_known"]) == ("absent", "Sickness", True)


def test_an_unmarked_pupil_with_no_notice_is_reported_absent_with_the_reason_unknown() -> None:
    sent = report(fire())
    assert (sent.facts["status"], sent.facts["reason_known"]) == ("absent", False)
    assert sent.facts["reason"] == "not known: no contact has been received"


def test_a_notice_received_after_the_start_is_reported_with_its_lateness() -> None:
    sent = report(fire(notices=(notice(1, START + timedelta(minutes=10), "Dentist"),)))
    assert sent.facts["notice"]["after_start"] is True
    assert sent.facts["notice"]["minutes_after_start"] == 10
    assert sent.facts["reason"] == "Dentist"


def test_a_pupil_not_on_a_school_roll_is_also_reported_to_the_local_authority() -> None:
    sent = report(fire(roster=(ZED,)))
    assert sent.recipients == ("attendance_contacts", "la_ap_address")
    assert sent.facts["la_ap_address"] == LA


def test_only_ap_pupils_on_the_roster_are_reported() -> None:
    actions = fire(roster=(AVA, ZED, learner(3)))
    assert sorted(r.person_id for r in of_type(actions, SendReport)) == [1, 2]


def test_a_missing_local_authority_address_is_raised_rather_than_dropped() -> None:
    actions = fire(roster=(ZED,), la_ap_address="")
    alert = one(actions, RaiseAlert)
    assert (alert.kind, alert.recipients) == ("report_undeliverable", ("ap_office",))
    assert "no local-authority AP address is configured" in alert.why


def test_a_pupil_with_no_attendance_contact_is_raised_to_the_office() -> None:
    alert = one(fire(contacts=()), RaiseAlert)
    assert alert.facts["gaps"] == ["no attendance contact is on record"]


def test_a_late_report_carries_its_lateness() -> None:
    assert report(fire(now=DUE + timedelta(minutes=3))).facts["late_by_seconds"] == 180


def test_on_the_autumn_clock_change_the_arrival_time_is_local() -> None:
    start = london(2026, 10, 25, 1, 50, fold=1)  # 01:50 GMT, the second 01:50 of the night
    arrived = start + timedelta(minutes=5)
    sent = report(fire(start=start, now=utc(2026, 10, 25, 2, 5), marks=(mark(1, MarkStatus.PRESENT, arrived),)))
    assert (sent.facts["arrival_time"], sent.facts["starts_at_local"]) == ("01:55", "01:50")


def _sent_absent() -> dict[str, Any]:
    return report(fire()).facts


def test_a_mark_changed_after_the_report_sends_a_correction() -> None:
    previous = _sent_absent()
    fixed = correction_for(previous, mark(1, MarkStatus.LATE, START + timedelta(minutes=20), code="L"))
    assert fixed is not None and fixed.correction is True
    assert (fixed.person_id, fixed.recipients) == (1, ("attendance_contacts",))
    assert (fixed.facts["status"], fixed.facts["arrival_time"]) == ("late", "09:20")
    assert fixed.facts["previous"]["status"] == "absent"


def test_an_unchanged_mark_sends_no_correction() -> None:
    previous = report(fire(marks=(mark(1, MarkStatus.PRESENT, START),))).facts
    assert correction_for(previous, mark(1, MarkStatus.PRESENT, START)) is None


def test_a_correction_goes_to_the_same_addressees_including_the_local_authority() -> None:
    previous = report(fire(roster=(ZED,))).facts
    fixed = correction_for(json.loads(json.dumps(previous)), mark(2, MarkStatus.PRESENT, START))
    assert fixed is not None and fixed.recipients == ("attendance_contacts", "la_ap_address")


def test_a_second_firing_for_a_pupil_already_reported_sends_only_a_correction() -> None:
    previous = _sent_absent()
    assert fire(ap_reports_sent={1: previous}) == []
    again = fire(ap_reports_sent={1: previous}, marks=(mark(1, MarkStatus.PRESENT, START),))
    assert report(again).correction is True


@pytest.mark.parametrize("status", [MarkStatus.ABSENT_AUTHORISED, MarkStatus.ABSENT_UNAUTHORISED])
def test_a_staff_absence_mark_reports_its_own_reason(status: MarkStatus) -> None:
    sent = report(fire(marks=(mark(1, status, START, code="I", reason="Hospital appointment"),)))
    assert (sent.facts["status"], sent.facts["reason"]) == ("absent", "Hospital appointment")
    assert sent.facts["authorised"] is (status is MarkStatus.ABSENT_AUTHORISED)


def test_the_report_facts_are_json_ready() -> None:
    json.dumps(report(fire(notices=(notice(1, START, "Sickness"),))).facts)
