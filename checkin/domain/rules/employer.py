"""EMPLOYER-SAME-DAY and EMPLOYER-REMOTE: an unauthorised absence is reported to the learner's employer.

Unauthorised means absent without an accepted notice (a late accepted notice still
authorises it), or unmarked, or explicitly marked unauthorised by staff. Learners without an
employer contact are skipped.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from checkin.domain.model import AlertSeverity, ContactKind, Person, SessionSnapshot
from checkin.domain.rules.actions import Action, CreateTask, RaiseAlert, SendReport
from checkin.domain.rules.attendance import mark_of, notice_of, unauthorised_absence
from checkin.domain.rules.context import RuleContext
from checkin.domain.rules.deadlines import DeadlineSpec
from checkin.domain.rules.facts import contact_facts, iso, notice_facts, person_facts, session_facts
from checkin.domain.rules.firing import late_by_seconds, session_rule_fires
from checkin.domain.rules.policy import RuleConfig
from checkin.domain.rules.windows import end_of_local_day, local_date
from checkin.domain.rules.wording import day_label, hhmm, late_clause

KIND = "employer_absence"


def absent_learners(snapshot: SessionSnapshot) -> list[Person]:
    """Learners with an employer contact whose absence is unauthorised."""
    return [p for p in snapshot.roster
            if snapshot.contacts_of(p.id, ContactKind.EMPLOYER)
            and unauthorised_absence(mark_of(snapshot, p.id), notice_of(snapshot, p.id))]


def _report(rule_id: str, recipients: tuple[str, ...], snapshot: SessionSnapshot, person: Person,
            deadline: DeadlineSpec, late: int, context: RuleContext) -> SendReport:
    mark = mark_of(snapshot, person.id)
    facts: dict[str, Any] = {
        **session_facts(snapshot.session, context.tz), **person_facts(person),
        **notice_facts(notice_of(snapshot, person.id), snapshot.session, context.tz),
        "employer": person.employer,
        "employer_contacts": contact_facts(snapshot.contacts_of(person.id, ContactKind.EMPLOYER)),
        "status": "unmarked" if mark is None else mark.status.value, "reason": mark.reason if mark else "",
        "due_at": iso(deadline.due_at), "late_by_seconds": late}
    return SendReport(KIND, person.id, recipients, facts, rule_id=rule_id)


def evaluate_employer_same_day(rule: RuleConfig, snapshot: SessionSnapshot, deadline: DeadlineSpec, now: datetime,
                               context: RuleContext) -> list[Action]:
    """Face-to-face: e-mail the employer at the end of the register window, the same day."""
    if not session_rule_fires(rule, snapshot, deadline, now):
        return []
    late = late_by_seconds(deadline, now)
    return [_report(rule.id, rule.addressees, snapshot, p, deadline, late, context) for p in absent_learners(snapshot)]


def evaluate_employer_remote(rule: RuleConfig, snapshot: SessionSnapshot, deadline: DeadlineSpec, now: datetime,
                             context: RuleContext) -> list[Action]:
    """Remote: e-mail the employer, and give the manager a task and an alert, on the morning of the absence.

    The manager's task is due by the end of the local day of the absence, the policy's "on the day".
    """
    if not session_rule_fires(rule, snapshot, deadline, now):
        return []
    session, tz = snapshot.session, context.tz
    late = late_by_seconds(deadline, now)
    task_due = end_of_local_day(local_date(session.starts_at, tz), tz)
    actions: list[Action] = []
    for person in absent_learners(snapshot):
        report = _report(rule.id, ("employer",), snapshot, person, deadline, late, context)
        employer = person.employer or report.facts["employer_contacts"][0]["organisation"] or "their employer"
        why = (f"{person.name} did not attend the remote session \"{session.title}\" at "
               f"{hhmm(session.starts_at, tz)} on {day_label(session.starts_at, tz)} and the absence is "
               f"unauthorised; contact {employer} this morning. The employer has been e-mailed."
               f"{late_clause(late, deadline.due_at, tz)}")
        actions += [
            report,
            CreateTask("contact_employer", person.id, task_due, f"Contact {employer} about {person.name}'s absence",
                       rule.addressees, rule.id, {"employer_contacts": report.facts["employer_contacts"],
                                                  "session_id": session.id}),
            RaiseAlert(rule.id, "employer_absence", AlertSeverity.WARNING, person.id, rule.addressees,
                       f"Unauthorised absence (remote): {person.name}", why, report.facts, late),
        ]
    return actions
