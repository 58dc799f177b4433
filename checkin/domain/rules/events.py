"""EVENTS-CALL: an event participant who has not arrived and gave no notice joins the day's call list.

An event is a session with at least policy.event_min_expected (3) people expected. With
policy.events_call_pattern_only ("chase only when a pattern emerges") a participant is only
called from their `pattern_threshold`-th (2nd) unexplained absence, this one included.
"""

from __future__ import annotations

from datetime import datetime

from checkin.domain.model import FollowUpOutcome, Person, SessionSnapshot
from checkin.domain.rules.actions import Action, CreateTask
from checkin.domain.rules.attendance import mark_of, notice_of, unexplained
from checkin.domain.rules.context import RuleContext
from checkin.domain.rules.deadlines import DeadlineSpec
from checkin.domain.rules.facts import iso, person_facts, session_facts
from checkin.domain.rules.firing import late_by_seconds, session_rule_fires
from checkin.domain.rules.policy import RuleConfig
from checkin.domain.rules.windows import end_of_local_day, local_date
from checkin.domain.rules.wording import hhmm

CALL_OUTCOMES = (FollowUpOutcome.REACHED.value, FollowUpOutcome.VOICEMAIL.value, FollowUpOutcome.NO_ANSWER.value)


def unexplained_count(person: Person, context: RuleContext) -> int:
    """This absence plus the participant's earlier unexplained ones."""
    return context.previous_unexplained_absences.get(person.id, 0) + 1


def evaluate_events_call(rule: RuleConfig, snapshot: SessionSnapshot, deadline: DeadlineSpec, now: datetime,
                         context: RuleContext) -> list[Action]:
    if not session_rule_fires(rule, snapshot, deadline, now):
        return []
    policy, session, tz = context.policy, snapshot.session, context.tz
    if len(snapshot.roster) < policy.event_min_expected:
        return []
    due = end_of_local_day(local_date(session.starts_at, tz), tz)
    late = late_by_seconds(deadline, now)
    actions: list[Action] = []
    for person in snapshot.roster:
        if not unexplained(mark_of(snapshot, person.id), notice_of(snapshot, person.id)):
            continue
        count = unexplained_count(person, context)
        if policy.events_call_pattern_only and count < rule.int_param("pattern_threshold"):
            continue
        phone = person.phone or "no phone number on record: e-mail instead"
        title = f"Call {person.name} on {phone} ({hhmm(session.starts_at, tz)} {session.title})"
        facts = {**session_facts(session, tz), **person_facts(person), "phone": person.phone,
                 "email": person.email, "outcomes": list(CALL_OUTCOMES), "email_follow_up_if_not_reached": True,
                 "unexplained_absences": count, "due_at": iso(deadline.due_at), "late_by_seconds": late}
        actions.append(CreateTask("call", person.id, due, title, rule.addressees, rule.id, facts))
    return actions
