"""AP-REPORT: at start + 15 every AP pupil's attendance goes to their attendance contacts.

Pupils not on a school roll are also reported to the local-authority AP address. A mark
changed after the report was sent produces a correction (`correction_for`), never a silent
change; a second firing for a pupil already reported sends only such a correction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from checkin.domain.model import AlertSeverity, ContactKind, Mark, MarkStatus, Notice, Person, SessionSnapshot
from checkin.domain.rules.actions import Action, RaiseAlert, SendReport
from checkin.domain.rules.attendance import mark_of, notice_of
from checkin.domain.rules.context import RuleContext
from checkin.domain.rules.deadlines import DeadlineSpec
from checkin.domain.rules.facts import iso, notice_facts, person_facts, session_facts
from checkin.domain.rules.firing import late_by_seconds, session_rule_fires
from checkin.domain.rules.policy import RuleConfig
from checkin.domain.rules.wording import hhmm

RULE_ID = "AP-REPORT"
KIND = "ap_attendance"
LA = "la_ap_address"
ATTENDANCE = "attendance_contacts"
UNKNOWN_REASON = "not known: no contact has been received"
_COMPARED = ("status", "arrival_time", "departure_time", "reason")
_PRESENT = {MarkStatus.PRESENT: "present", MarkStatus.LATE: "late", MarkStatus.LEFT_EARLY: "left_early"}
_OTHER = {MarkStatus.NOT_POSSIBLE: "not_possible", MarkStatus.CATCH_UP: "catch_up"}


def attendance_status(mark: Mark | None, notice: Notice | None, tz: ZoneInfo) -> dict[str, Any]:
    """What the report says: present with arrival time, or absent with the reason if known."""
    if mark is not None and mark.status in _PRESENT:
        arrived = mark.arrived_at or mark.recorded_at
        return {"status": _PRESENT[mark.status], "present": True, "arrival_time": hhmm(arrived, tz),
                "minutes_late": mark.minutes_late,
                "departure_time": hhmm(mark.departed_at, tz) if mark.departed_at else None,
                "reason": mark.reason, "reason_known": True, "code": mark.code}
    reason = (mark.reason if mark else "") or (notice.reason if notice else "")
    status = _OTHER.get(mark.status, "absent") if mark else "absent"
    return {"status": status, "present": False, "arrival_time": None, "minutes_late": 0,
            "departure_time": None, "reason": reason or UNKNOWN_REASON, "reason_known": bool(reason),
            "authorised": None if mark is None else mark.status is MarkStatus.ABSENT_AUTHORISED,
            "code": mark.code if mark else None}


def correction_for(previous_report_facts: Mapping[str, Any], new_mark: Mark | None,
                   notice: Notice | None = None) -> SendReport | None:
    """The correction to send when a pupil's mark changed after their report went, or None if unchanged."""
    tz = ZoneInfo(previous_report_facts["tz"])
    now_says = attendance_status(new_mark, notice, tz)
    if all(previous_report_facts.get(k) == now_says[k] for k in _COMPARED):
        return None
    facts = {**previous_report_facts, **now_says, "correction": True,
             "previous": {k: previous_report_facts.get(k) for k in _COMPARED}}
    return SendReport(KIND, int(previous_report_facts["person_id"]), tuple(previous_report_facts["recipients"]),
                      facts, correction=True, rule_id=RULE_ID)


def evaluate_ap_report(rule: RuleConfig, snapshot: SessionSnapshot, deadline: DeadlineSpec, now: datetime,
                       context: RuleContext) -> list[Action]:
    if not session_rule_fires(rule, snapshot, deadline, now):
        return []
    late = late_by_seconds(deadline, now)
    actions: list[Action] = []
    for person in snapshot.roster:
        if not person.ap_pupil:
            continue
        mark, notice = mark_of(snapshot, person.id), notice_of(snapshot, person.id)
        previous = context.ap_reports_sent.get(person.id)
        if previous is not None:
            correction = correction_for(previous, mark, notice)
            actions.extend([correction] if correction else [])
            continue
        recipients = tuple(r for r in rule.addressees if r != LA or not person.on_school_roll)
        tz = context.tz
        facts = {**session_facts(snapshot.session, tz), **person_facts(person),
                 **attendance_status(mark, notice, tz), **notice_facts(notice, snapshot.session, tz),
                 "recipients": list(recipients), "la_ap_address": context.la_ap_address if LA in recipients else "",
                 "correction": False, "due_at": iso(deadline.due_at), "late_by_seconds": late}
        actions.append(SendReport(KIND, person.id, recipients, facts, rule_id=RULE_ID))
        actions.extend(_undeliverable(person, recipients, snapshot, context, late))
    return actions


def _undeliverable(person: Person, recipients: tuple[str, ...], snapshot: SessionSnapshot,
                   context: RuleContext, late: int) -> list[Action]:
    """Tell the AP office when part of the report has nowhere to go, rather than let it vanish."""
    gaps = []
    if ATTENDANCE in recipients and not snapshot.contacts_of(person.id, ContactKind.ATTENDANCE):
        gaps.append("no attendance contact is on record")
    if LA in recipients and not context.la_ap_address:
        gaps.append("they are not on a school roll but no local-authority AP address is configured")
    if not gaps:
        return []
    why = (f"{person.name}'s attendance report for the {hhmm(snapshot.session.starts_at, context.tz)} session "
           f"could not go to everyone it must: {'; '.join(gaps)}.")
    return [RaiseAlert(RULE_ID, "report_undeliverable", AlertSeverity.WARNING, person.id, ("ap_office",),
                       f"Attendance report incomplete: {person.name}", why,
                       {**session_facts(snapshot.session, context.tz), **person_facts(person), "gaps": gaps},
                       late)]
