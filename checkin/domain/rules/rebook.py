"""REBOOK-121: a missed 1-2-1 gets a task to agree an alternative within N working days; overdue alerts the manager.

Stage 0 fires at the session's end and creates one task per person who missed it, due at
the end of the N-th working day after the session's local date (weekends and the
organisation's bank holidays skipped), and schedules stage 1 for that moment. Stage 1 alerts
the rest of the ladder when the "rebook" task is still among `context.open_tasks`.
"""

from __future__ import annotations

from datetime import date, datetime

from checkin.domain.model import AlertSeverity, SessionSnapshot, SessionStatus
from checkin.domain.rules.actions import Action, CreateTask, RaiseAlert, ScheduleDeadline
from checkin.domain.rules.attendance import mark_of, missed
from checkin.domain.rules.context import RuleContext
from checkin.domain.rules.deadlines import DeadlineSpec
from checkin.domain.rules.facts import iso, person_facts, session_facts
from checkin.domain.rules.firing import check_due, late_by_seconds, session_rule_fires
from checkin.domain.rules.policy import RuleConfig
from checkin.domain.rules.windows import end_of_local_day, local_date
from checkin.domain.rules.wording import date_label, day_label, hhmm, late_clause
from checkin.domain.rules.workdays import add_working_days

TASK_KIND = "rebook"


def rebook_by(snapshot: SessionSnapshot, rule: RuleConfig, context: RuleContext) -> date:
    """The last working day on which the alternative session may be agreed."""
    return add_working_days(local_date(snapshot.session.starts_at, context.tz), rule.int_param("working_days"),
                            context.bank_holidays)


def evaluate_rebook(rule: RuleConfig, snapshot: SessionSnapshot, deadline: DeadlineSpec, now: datetime,
                    context: RuleContext) -> list[Action]:
    if deadline.stage == 0:
        return _create_tasks(rule, snapshot, deadline, now, context)
    return _overdue(rule, snapshot, deadline, now, context)


def _create_tasks(rule: RuleConfig, snapshot: SessionSnapshot, deadline: DeadlineSpec, now: datetime,
                  context: RuleContext) -> list[Action]:
    if not session_rule_fires(rule, snapshot, deadline, now):
        return []
    session, tz = snapshot.session, context.tz
    by = rebook_by(snapshot, rule, context)
    due = end_of_local_day(by, tz)
    actions: list[Action] = []
    for person in snapshot.roster:
        if not missed(mark_of(snapshot, person.id)):
            continue
        title = f"Agree an alternative 1-2-1 with {person.name} by {date_label(by)}"
        facts = {**session_facts(session, tz), **person_facts(person), "working_days": rule.int_param("working_days"),
                 "rebook_by": by.isoformat(), "due_at": iso(due)}
        actions += [CreateTask(TASK_KIND, person.id, due, title, rule.addressees[:1], rule.id, facts),
                    ScheduleDeadline(rule.id, person.id, due, stage=1)]
    return actions


def _overdue(rule: RuleConfig, snapshot: SessionSnapshot, deadline: DeadlineSpec, now: datetime,
             context: RuleContext) -> list[Action]:
    """A cancelled session no longer matters here: the task already exists and is what is overdue."""
    if deadline.rule_id != rule.id:
        raise ValueError(f"a {deadline.rule_id} deadline was routed to {rule.id}")
    check_due(deadline, now)
    if not rule.enabled or deadline.person_id is None or (TASK_KIND, deadline.person_id) not in context.open_tasks:
        return []
    person = next((p for p in snapshot.roster if p.id == deadline.person_id), None)
    name = person.name if person else f"person {deadline.person_id}"
    session, tz = snapshot.session, context.tz
    late = late_by_seconds(deadline, now)
    why = (f"The 1-2-1 \"{session.title}\" on {day_label(session.starts_at, tz)} at {hhmm(session.starts_at, tz)} "
           f"was missed by {name} and no alternative session was agreed within "
           f"{rule.int_param('working_days')} working days.{late_clause(late, deadline.due_at, tz)}")
    facts = {**session_facts(session, tz), "person_id": deadline.person_id, "name": name,
             "due_at": iso(deadline.due_at), "session_cancelled": session.status is not SessionStatus.SCHEDULED}
    return [RaiseAlert(rule.id, "rebook_overdue", AlertSeverity.WARNING, deadline.person_id,
                       rule.addressees[1:] or rule.addressees, f"1-2-1 not rebooked: {name}", why, facts, late)]
