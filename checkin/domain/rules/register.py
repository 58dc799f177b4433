"""F2F-REGISTER (register done within the window) and TUTOR-EARLY (tutor in 10 minutes before the start)."""

from __future__ import annotations

from datetime import datetime, timedelta

from checkin.domain.model import AlertSeverity, SessionSnapshot
from checkin.domain.rules.actions import Action, RaiseAlert, ScheduleDeadline
from checkin.domain.rules.attendance import mark_of
from checkin.domain.rules.context import RuleContext
from checkin.domain.rules.deadlines import DeadlineSpec
from checkin.domain.rules.facts import iso, session_facts
from checkin.domain.rules.firing import late_by_seconds, session_rule_fires
from checkin.domain.rules.policy import RuleConfig
from checkin.domain.rules.windows import as_utc
from checkin.domain.rules.wording import duration_words, hhmm, late_clause


def evaluate_f2f_register(rule: RuleConfig, snapshot: SessionSnapshot, deadline: DeadlineSpec, now: datetime,
                          context: RuleContext) -> list[Action]:
    """Stage n alerts the n-th name on the ladder (tutor, then manager) while the register stays incomplete.

    The register stays open for late marks; completing it at any point before a stage fires
    (the last second included) stops the ladder.
    """
    if not session_rule_fires(rule, snapshot, deadline, now):
        return []
    session, tz = snapshot.session, context.tz
    ladder = rule.addressees
    if session.register_completed_at is not None or deadline.stage >= len(ladder):
        return []
    late = late_by_seconds(deadline, now)
    unmarked = [p.name for p in snapshot.roster if mark_of(snapshot, p.id) is None]
    window = int((as_utc(deadline.due_at) - as_utc(session.starts_at)).total_seconds())
    why = (f'The register for "{session.title}" ({hhmm(session.starts_at, tz)}, face-to-face) was not completed '
           f"by {hhmm(deadline.due_at, tz)}, {duration_words(window)} after the session began; "
           f"{len(unmarked)} of {len(snapshot.roster)} still unmarked.")
    if deadline.stage:
        why += f" {_already_alerted(ladder, deadline.stage)} already alerted; it is still not complete."
    why += late_clause(late, deadline.due_at, tz)
    facts = {**session_facts(session, tz), "stage": deadline.stage, "unmarked": unmarked,
             "roster_size": len(snapshot.roster), "tutor_ids": list(session.tutor_ids), "due_at": iso(deadline.due_at)}
    actions: list[Action] = [RaiseAlert(rule.id, "register_incomplete", AlertSeverity.WARNING, None,
                                        (ladder[deadline.stage],), f"Register not completed: {session.title}", why,
                                        facts, late)]
    if deadline.stage + 1 < len(ladder):
        next_due = as_utc(now) + timedelta(minutes=rule.int_param("escalate_after_minutes"))
        actions.append(ScheduleDeadline(rule.id, None, next_due, stage=deadline.stage + 1))
    return actions


def _already_alerted(ladder: tuple[str, ...], stage: int) -> str:
    who = ", ".join(ladder[:stage])
    return f"The {who} was" if stage == 1 else f"The {who} were"


def evaluate_tutor_early(rule: RuleConfig, snapshot: SessionSnapshot, deadline: DeadlineSpec, now: datetime,
                         context: RuleContext) -> list[Action]:
    """Alert the manager when no tutor has checked in when the start - 10 check runs (cover may be needed)."""
    if not session_rule_fires(rule, snapshot, deadline, now):
        return []
    session, tz = snapshot.session, context.tz
    if session.tutor_checked_in_at is not None:
        return []
    late = late_by_seconds(deadline, now)
    before = int((as_utc(session.starts_at) - as_utc(deadline.due_at)).total_seconds())
    who = "No tutor is assigned to" if not session.tutor_ids else "No tutor had checked in to"
    why = (f'{who} "{session.title}" by {hhmm(deadline.due_at, tz)}, {duration_words(before)} before its '
           f"{hhmm(session.starts_at, tz)} start; cover may be needed.{late_clause(late, deadline.due_at, tz)}")
    facts = {**session_facts(session, tz), "tutor_ids": list(session.tutor_ids), "due_at": iso(deadline.due_at)}
    return [RaiseAlert(rule.id, "tutor_not_checked_in", AlertSeverity.WARNING, None, rule.addressees,
                       f"Tutor not checked in: {session.title}", why, facts, late)]
