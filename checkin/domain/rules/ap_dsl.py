"""AP-DSL: at start + 60 a no-show pupil nobody has reached goes to the DSL chain as a safeguarding alert.

The alert carries the whole timeline so far. For a pupil not on a school roll it says a
missing-from-education report to the police must be considered, and flags that the DSL
records that decision (`police_decision_required`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from checkin.domain.model import AlertSeverity, ContactKind, Mark, Person, SessionSnapshot
from checkin.domain.rules.actions import Action, RaiseAlert
from checkin.domain.rules.attendance import mark_of, notice_of, unexplained
from checkin.domain.rules.context import RuleContext, TimelineEntry
from checkin.domain.rules.deadlines import DeadlineSpec
from checkin.domain.rules.facts import contact_facts, iso, person_facts, session_facts
from checkin.domain.rules.firing import late_by_seconds, session_rule_fires
from checkin.domain.rules.policy import RuleConfig
from checkin.domain.rules.wording import duration_words, hhmm, late_clause, names

RULE_ID = "AP-DSL"


def timeline(snapshot: SessionSnapshot, person: Person, mark: Mark | None, context: RuleContext,
             now: datetime) -> list[TimelineEntry]:
    """Everything known about this pupil in this session, oldest first."""
    session = snapshot.session
    entries = [TimelineEntry(session.starts_at, f'The session "{session.title}" began.')]
    if mark is None:
        entries.append(TimelineEntry(now, "Still unmarked."))
    else:
        entries.append(TimelineEntry(mark.recorded_at, f"Marked {_words(mark.status.value)} "
                                                       f"({mark.code}) by {mark.source.value}."))
    entries += context.earlier_steps.get(person.id, ())
    for f in snapshot.follow_ups:
        if f.person_id == person.id:
            who = f" {f.contact_name}" if f.contact_name else ""
            how = f" by {f.method}" if f.method else ""
            note = f" Note: {f.note}" if f.note else ""
            entries.append(TimelineEntry(f.logged_at, f"Tried{who}{how}: {_words(f.outcome.value)}.{note}"))
    return sorted(entries, key=lambda e: e.at)


def _words(value: str) -> str:
    return value.replace("_", " ")


def timeline_facts(entries: list[TimelineEntry], tz: ZoneInfo) -> list[dict[str, Any]]:
    return [{"at": iso(e.at), "local": hhmm(e.at, tz), "what": e.what} for e in entries]


def evaluate_ap_dsl(rule: RuleConfig, snapshot: SessionSnapshot, deadline: DeadlineSpec, now: datetime,
                    context: RuleContext) -> list[Action]:
    if not session_rule_fires(rule, snapshot, deadline, now):
        return []
    actions: list[Action] = []
    for person in snapshot.roster:
        mark = mark_of(snapshot, person.id)
        if (person.ap_pupil and unexplained(mark, notice_of(snapshot, person.id))
                and not snapshot.reached(person.id)):
            actions.append(_safeguarding_alert(rule, snapshot, person, mark, deadline, now, context))
    return actions


def _safeguarding_alert(rule: RuleConfig, snapshot: SessionSnapshot, person: Person, mark: Mark | None,
                        deadline: DeadlineSpec, now: datetime, context: RuleContext) -> RaiseAlert:
    tz, session = context.tz, snapshot.session
    late = late_by_seconds(deadline, now)
    tries = sorted((f for f in snapshot.follow_ups if f.person_id == person.id), key=lambda f: f.logged_at)
    elapsed = int((deadline.due_at - session.starts_at).total_seconds())
    if tries:
        listed = names([f"{_words(f.outcome.value)} at {hhmm(f.logged_at, tz)}" for f in tries])
        were = "follow-up was" if len(tries) == 1 else "follow-ups were"
        tried = f" {len(tries)} {were} logged ({listed})."
    else:
        tried = " No follow-up has been logged."
    why = (f"{person.name} has not attended the {hhmm(session.starts_at, tz)} session and nobody had been reached "
           f"by {hhmm(deadline.due_at, tz)}, {duration_words(elapsed)} after it began.{tried}")
    police = not person.on_school_roll
    if police:
        why += (f" {person.name} is not on a school roll: a missing-from-education report to the police must be "
                "considered; record your decision.")
    why += late_clause(late, deadline.due_at, tz)
    facts = {**session_facts(session, tz), **person_facts(person),
             "timeline": timeline_facts(timeline(snapshot, person, mark, context, now), tz),
             "emergency_contacts": contact_facts(snapshot.contacts_of(person.id, ContactKind.EMERGENCY)),
             "follow_ups_logged": len(tries), "police_decision_required": police, "due_at": iso(deadline.due_at)}
    return RaiseAlert(RULE_ID, "safeguarding", AlertSeverity.SAFEGUARDING, person.id, rule.addressees,
                      f"Safeguarding: {person.name} not seen and not reached", why, facts, late)
