"""AP-NOSHOW: at start + 15 a pupil unmarked, or absent with no reason and no notice, is a no-show.

Planned once per session; the rule walks the roster when it fires, so the deadline row count
does not grow with the roster. A pupil marked present or late by then (even at the last
second) and a pupil with any notice (contact was received, even after the start) get nothing.
"""

from __future__ import annotations

from datetime import datetime

from checkin.domain.model import AlertSeverity, ContactKind, Mark, MarkStatus, Person, SessionSnapshot
from checkin.domain.rules.actions import Action, CreateTask, MarkNoShow, RaiseAlert, SendReport
from checkin.domain.rules.attendance import mark_of, notice_of, unexplained
from checkin.domain.rules.context import RuleContext
from checkin.domain.rules.deadlines import DeadlineSpec
from checkin.domain.rules.facts import contact_facts, iso, person_facts, session_facts
from checkin.domain.rules.firing import late_by_seconds, session_rule_fires
from checkin.domain.rules.policy import RuleConfig
from checkin.domain.rules.wording import hhmm, late_clause, names, plural

RULE_ID = "AP-NOSHOW"


def evaluate_ap_noshow(rule: RuleConfig, snapshot: SessionSnapshot, deadline: DeadlineSpec, now: datetime,
                       context: RuleContext) -> list[Action]:
    if not session_rule_fires(rule, snapshot, deadline, now):
        return []
    actions: list[Action] = []
    for person in snapshot.roster:
        mark = mark_of(snapshot, person.id)
        if person.ap_pupil and unexplained(mark, notice_of(snapshot, person.id)):
            actions.extend(_no_show(rule, snapshot, person, mark, deadline, now, context))
    return actions


def _no_show(rule: RuleConfig, snapshot: SessionSnapshot, person: Person, mark: Mark | None,
             deadline: DeadlineSpec, now: datetime, context: RuleContext) -> list[Action]:
    tz, session = context.tz, snapshot.session
    late = late_by_seconds(deadline, now)
    due_local, start_local = hhmm(deadline.due_at, tz), hhmm(session.starts_at, tz)
    emergency = snapshot.contacts_of(person.id, ContactKind.EMERGENCY)
    calls = names([f"{c.name} ({c.relationship or 'emergency contact'}) on {c.phone or 'no phone on record'}"
                   for c in emergency])
    call_clause = f" Call {calls} now." if emergency else " No emergency contact is on record: tell the AP office."
    minutes = int((deadline.due_at - session.starts_at).total_seconds() // 60)
    state = "was not marked" if mark is None else "was marked absent with no reason"
    why = (f"{person.name} {state} by {due_local}, {plural(minutes, 'minute')} after the {start_local} "
           f"session began; no notice was given.{call_clause}{late_clause(late, deadline.due_at, tz)}")
    dsl = context.policy.rule("AP-DSL")
    action_taken = "We are calling the pupil's emergency contacts now." + (
        " If we cannot reach anyone, our designated safeguarding lead will be informed within the first hour."
        if dsl is not None and dsl.enabled else "")
    facts = {**session_facts(session, tz), **person_facts(person), "emergency_contacts": contact_facts(emergency),
             "was_marked": mark is not None, "due_at": iso(deadline.due_at)}
    recipients = rule.addressees
    actions: list[Action] = []
    if mark is None or mark.status is not MarkStatus.NO_CONTACT:
        actions.append(MarkNoShow(person.id, rule.str_param("code"), RULE_ID,
                                  f"No contact received by {due_local}"))
    actions += [
        RaiseAlert(RULE_ID, "no_show", AlertSeverity.WARNING, person.id, recipients,
                   f"No-show, no contact: {person.name} ({start_local} {session.title})", why, facts, late),
        CreateTask("call_emergency_contacts", person.id, deadline.due_at,
                   f"Call emergency contacts for {person.name}", recipients, RULE_ID,
                   {"emergency_contacts": contact_facts(emergency), "session_id": session.id}),
        SendReport("ap_non_attendance", person.id, ("attendance_contacts",),
                   {**session_facts(session, tz), **person_facts(person), "status": "no_show_no_contact",
                    "action_taken": action_taken,
                    "due_at": iso(deadline.due_at), "late_by_seconds": late}, rule_id=RULE_ID),
    ]
    return actions
